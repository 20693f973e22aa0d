"""The history's details pane: one event whole, as plain text with agent text visible."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QPlainTextEdit, QPushButton, QWidget

from app.service.history_rows import EventDetails
from app.trust.proposal import Proposal, propose
from app.ui.text import visible


def _when(ts: float) -> str:
    return datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S")


def describe(details: EventDetails) -> str:
    """The pane's text: the event, its score and every reason with its points, each
    decision with its scope and who made it (a rule or a person), and its batch."""
    e = details.entry
    lines = [
        f"{e.kind}  {visible(e.target)}",
        f"recorded {_when(e.ts)}   event {e.event}" + (f" ({visible(e.id)})" if e.id else ""),
        f"session {visible(e.session)}   agent {visible(e.agent or '-')}",
        f"workspace {visible(e.workspace or '-')}",
        "",
    ]
    if e.score is None:
        lines.append("no verdict recorded")
    else:
        lines.append(f"score {e.score}   band {e.band}")
        for reason in e.reasons:
            points = reason.get("points", 0)
            rule, why = visible(reason.get("rule", "?")), visible(reason.get("why", ""))
            lines.append(f"  {points:+4}  {rule}: {why}")
        if not e.reasons:
            lines.append("  (no rule added points)")
        if details.signature:
            lines.append(f"signature {visible(details.signature)}")
    lines.append("")
    if not details.decisions:
        lines.append("no decision recorded")
    for d in details.decisions:
        who = "a person" if d.by == "user" else f"rule {visible(d.by)}"
        until = f", until {_when(d.expires)}" if d.expires else ""
        lines.append(f"{d.decision} ({d.scope}{until}) by {who}, {_when(d.ts)}")
    if e.batch:
        lines.append(f"batch {visible(e.batch)}: {details.batch_size} event(s) decided together")
    lines += ["", "the event as recorded:", visible(details.raw_pretty(), keep_newlines=True)]
    return "\n".join(lines)


class DetailsPane(QPlainTextEdit):
    """Read-only, plain text: nothing an agent wrote can be rendered as markup."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setReadOnly(True)
        font = QFont("monospace")
        font.setStyleHint(QFont.StyleHint.Monospace)
        self.setFont(font)
        self.setPlaceholderText("Select an event to see all of it.")

    def show_details(self, details: EventDetails | None) -> None:
        self.setPlainText("" if details is None else describe(details))


class MakeRuleButton(QPushButton):
    """ "Make a rule from this": enabled when the shown event has an entry that would
    have decided it; `wanted` hands the proposals on (the history window opens the
    dialog of app/ui/trust_rule.py)."""

    wanted = Signal(list)  # list[Proposal]

    def __init__(self, home: Path, parent: QWidget | None = None) -> None:
        super().__init__("Make a rule from this…", parent)
        self.home = home
        self.proposals: list[Proposal] = []
        self.setEnabled(False)
        self.setToolTip("Select an event: a request, a tunnel or a file read or written.")
        self.clicked.connect(lambda _=False: self.wanted.emit(self.proposals))

    def offer(self, details: EventDetails | None) -> None:
        self.proposals = [] if details is None else propose(details.entry, details.raw, self.home)
        self.setEnabled(bool(self.proposals))
        if details is not None and not self.proposals:
            self.setToolTip("No policy entry decides this kind of event.")
