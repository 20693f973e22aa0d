"""The history window's filter bar: choices in, one frozen `HistoryFilter` out.

Each box offers what the store holds (`Choices`, read on the worker); typing in the
search box waits for a pause before it asks again, so a query runs per word, not
per key.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from PySide6.QtCore import QDateTime, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDateTimeEdit,
    QGridLayout,
    QLabel,
    QLineEdit,
    QWidget,
)

from app.service.history_rows import ANY_RULE, BANDS, SORTS, UNDECIDED, Choices, HistoryFilter
from app.ui.text import short

TYPING_MS = 250
RANGES: tuple[tuple[str, float | None], ...] = (
    ("any time", None),
    ("last hour", 3600),
    ("last 24 hours", 86400),
    ("last 7 days", 7 * 86400),
    ("last 30 days", 30 * 86400),
    ("between…", -1),
)


def _combo(label_for_all: str) -> QComboBox:
    box = QComboBox()
    box.addItem(label_for_all, None)
    box.setMinimumContentsLength(10)
    box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    return box


class FilterBar(QWidget):
    """Emits `changed(filter, sort)` whenever what the history shows should change."""

    changed = Signal(object, str)

    def __init__(self, clock: Callable[[], float] = time.time, parent: QWidget | None = None):
        super().__init__(parent)
        self.clock = clock
        self.session = _combo("all sessions")
        self.workspace = _combo("all workspaces")
        self.agent = _combo("all agents")
        self.kind = _combo("all kinds")
        self.band = _combo("any band")
        for band in reversed(BANDS):
            self.band.addItem(f"{band} and above" if band != "critical" else band, band)
        self.decision = _combo("any decision")
        for label, value in (("allowed", "allow"), ("denied", "deny"), ("undecided", UNDECIDED)):
            self.decision.addItem(label, value)
        self.by = _combo("decided by anyone")
        self.by.addItem("a person", "user")
        self.by.addItem("any rule", ANY_RULE)
        self.search = QLineEdit()
        self.search.setPlaceholderText("search hosts, paths, commands, reasons…")
        self.search.setClearButtonEnabled(True)
        self.range = QComboBox()
        for label, seconds in RANGES:
            self.range.addItem(label, seconds)
        now = QDateTime.currentDateTime()
        self.start = QDateTimeEdit(now.addDays(-1))
        self.end = QDateTimeEdit(now)
        for edit in (self.start, self.end):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("yyyy-MM-dd HH:mm")
            edit.setEnabled(False)
        self.sort = QComboBox()
        for name in SORTS:
            self.sort.addItem(f"sort by {name}", name)

        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.addWidget(self.search, 0, 0, 1, 4)
        grid.addWidget(self.range, 0, 4)
        grid.addWidget(self.start, 0, 5)
        grid.addWidget(QLabel("to"), 0, 6)
        grid.addWidget(self.end, 0, 7)
        grid.addWidget(self.sort, 0, 8)
        for column, box in enumerate(
            (self.session, self.workspace, self.agent, self.kind, self.band, self.decision, self.by)
        ):
            grid.addWidget(box, 1, column, 1, 2 if column == 6 else 1)
            box.currentIndexChanged.connect(self._emit)
        grid.setColumnStretch(0, 1)
        grid.setColumnStretch(1, 1)

        self._typing = QTimer(self)
        self._typing.setSingleShot(True)
        self._typing.setInterval(TYPING_MS)
        self._typing.timeout.connect(self._emit)
        self.search.textChanged.connect(self._typing.start)
        self.range.currentIndexChanged.connect(self._range_changed)
        self.start.dateTimeChanged.connect(self._emit)
        self.end.dateTimeChanged.connect(self._emit)
        self.sort.currentIndexChanged.connect(self._emit)

    def offer(self, choices: Choices) -> None:
        """Fill the boxes with what the store holds, keeping what is chosen."""
        for box, values in (
            (self.session, choices.sessions),
            (self.workspace, choices.workspaces),
            (self.agent, choices.agents),
            (self.kind, choices.kinds),
        ):
            _refill(box, values)
        chosen = self.by.currentData()
        self.by.blockSignals(True)
        while self.by.count() > 3:
            self.by.removeItem(3)
        for rule in choices.rules:
            self.by.addItem(f"rule {short(rule, 40)}", rule)
        self.by.setCurrentIndex(max(0, self.by.findData(chosen)))
        self.by.blockSignals(False)

    def current(self) -> HistoryFilter:
        """The filter as the boxes say it now."""
        band = self.band.currentData()
        since = until = None
        seconds = self.range.currentData()
        if seconds == -1:
            since = self.start.dateTime().toSecsSinceEpoch()
            until = self.end.dateTime().toSecsSinceEpoch()
        elif seconds is not None:
            since = self.clock() - seconds
        return HistoryFilter(
            session=self.session.currentData(),
            workspace=self.workspace.currentData(),
            agent=self.agent.currentData(),
            bands=BANDS[BANDS.index(band) :] if band else (),
            kind=self.kind.currentData(),
            decision=self.decision.currentData(),
            decided_by=self.by.currentData(),
            text=self.search.text(),
            since=None if since is None else float(since),
            until=None if until is None else float(until),
        )

    def current_sort(self) -> str:
        return str(self.sort.currentData())

    def _range_changed(self) -> None:
        between = self.range.currentData() == -1
        self.start.setEnabled(between)
        self.end.setEnabled(between)
        self._emit()

    def _emit(self) -> None:
        self._typing.stop()
        self.changed.emit(self.current(), self.current_sort())


def _refill(box: QComboBox, values: Sequence[str]) -> None:
    chosen = box.currentData()
    box.blockSignals(True)
    while box.count() > 1:
        box.removeItem(1)
    for value in values:
        box.addItem(short(value, 40), value)  # shown visible; filtered by the exact value
    box.setCurrentIndex(max(0, box.findData(chosen)))
    box.blockSignals(False)
