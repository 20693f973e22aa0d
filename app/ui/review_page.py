"""Fills the inbox's review page: a memory-file change, quarantined files, an alert."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QPushButton

from app.ui.inbox import ReviewPane, plain_label
from app.ui.labels import BANNERS, reasons_text_of
from app.ui.rows import ReviewItem
from app.ui.text import duration, visible

_WHAT = {"memory": "an agent instruction file changed", "quarantine": "files held"}


def fill_review(
    pane: ReviewPane,
    item: ReviewItem,
    now: float,
    resolve: Callable[[str, str], None],
    input_filter: QObject,
) -> None:
    """Show `item` on `pane`, with one button per action it offers (`resolve(id,
    action)` when pressed); every text from the agent is shown visible and plain."""
    _, background, foreground = BANNERS.get(item.band, BANNERS["low"])
    pane.banner.setText(f"{item.band.upper()} {item.score}: {_WHAT.get(item.kind, 'needs a look')}")
    pane.banner.setStyleSheet(f"background:{background}; color:{foreground};")
    pane.title.setText(visible(item.summary or item.path))
    pane.meta.setText(
        f"{visible(item.path)} · workspace {visible(item.workspace)} · "
        f"{duration(now - item.ts)} ago"
    )
    pane.reasons.setText(reasons_text_of(item.reasons, "no rule matched"))
    pane.detail.setPlainText(visible(item.detail, keep_newlines=True))
    while pane.action_row.count():
        taken = pane.action_row.takeAt(0)
        old = taken.widget() if taken is not None else None
        if old is not None:
            old.deleteLater()
    for action in item.actions:
        button = QPushButton(action.capitalize())
        button.setAutoDefault(False)
        button.clicked.connect(lambda _=False, a=action, i=item.id: resolve(i, a))
        button.installEventFilter(input_filter)
        pane.action_row.addWidget(button)
    pane.action_row.addWidget(plain_label(""), 1)
