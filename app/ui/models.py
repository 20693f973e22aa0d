"""Qt models over plain frozen rows: the inbox list and a batch's members.

Never a widget per row: 10,000 waiting requests are 50 rows here and, for the batch on
screen, one members model the view pages through.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor

from app.ui.inbox_rows import InboxRow
from app.ui.rows import Member
from app.ui.text import short

Index = QModelIndex | QPersistentModelIndex
ROW = Qt.ItemDataRole.UserRole

BAND_COLOURS = {
    "low": "#2e7d32",
    "medium": "#b26a00",
    "high": "#c62828",
    "critical": "#ffffff",
}
CRITICAL_BACKGROUND = "#b71c1c"


class _Table(QAbstractTableModel):
    """A flat table of `HEADERS` columns over the sequence `_items()` returns."""

    HEADERS: tuple[str, ...] = ()

    def _items(self) -> Any:
        return ()  # each model returns its own rows

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._items())

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.HEADERS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = 0) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.HEADERS[section]
        return None


class InboxModel(_Table):
    HEADERS = ("Risk", "What needs you", "Waiting")

    def _items(self) -> list[InboxRow]:
        return self.rows

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[InboxRow] = []

    def reset(self, rows: list[InboxRow]) -> None:
        """Replace every row (a few dozen). When only the records behind them changed
        (a request joined a batch that is not on screen yet), the rows are swapped and
        the changed ones repainted, without a reset that would redo the whole view."""
        if [r.key for r in rows] == [r.key for r in self.rows]:
            old, self.rows = self.rows, rows
            for n, (a, b) in enumerate(zip(old, rows, strict=True)):
                if (a.title, a.detail, a.band, a.score, a.expired) != (
                    b.title, b.detail, b.band, b.score, b.expired
                ):  # fmt: skip
                    self.dataChanged.emit(self.index(n, 0), self.index(n, len(self.HEADERS) - 1))
            return
        self.beginResetModel()
        self.rows = rows
        self.endResetModel()

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row = self.rows[index.row()]
        column = index.column()
        if role == ROW:
            return row
        if role == Qt.ItemDataRole.DisplayRole:
            if column == 0:
                return f"{row.band.upper()} {row.score}"
            return row.title if column == 1 else row.detail
        if role == Qt.ItemDataRole.ForegroundRole and column == 0:
            return QColor(BAND_COLOURS.get(row.band, "#000000"))
        if role == Qt.ItemDataRole.BackgroundRole and column == 0 and row.band == "critical":
            return QColor(CRITICAL_BACKGROUND)
        if role == Qt.ItemDataRole.ForegroundRole and row.expired:
            return QColor("#777777")
        return None

    def row_of(self, key: str) -> int:
        for n, row in enumerate(self.rows):
            if row.key == key:
                return n
        return -1


class MembersModel(_Table):
    HEADERS = ("Request", "Score", "State")

    def _items(self) -> tuple[Member, ...]:
        return self.members

    def __init__(self) -> None:
        super().__init__()
        self.members: tuple[Member, ...] = ()

    def reset(self, members: tuple[Member, ...]) -> None:
        """Show `members`. The same batch grown (members only join at the end) inserts
        the new rows and repaints the changed ones, keeping the view's place and
        selection; anything else resets the view."""
        old = self.members
        if not (old and len(members) >= len(old) and members[0].event == old[0].event
                and members[len(old) - 1].event == old[-1].event):  # fmt: skip
            self.beginResetModel()
            self.members = members
            self.endResetModel()
            return
        kept = zip(old, members[: len(old)], strict=True)
        changed = [n for n, (a, b) in enumerate(kept) if a is not b]
        if len(members) > len(old):
            self.beginInsertRows(QModelIndex(), len(old), len(members) - 1)
            self.members = members
            self.endInsertRows()
        self.members = members
        if changed:
            last = len(self.HEADERS) - 1
            self.dataChanged.emit(self.index(changed[0], 0), self.index(changed[-1], last))

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        m = self.members[index.row()]
        if role == ROW:
            return m
        if role == Qt.ItemDataRole.DisplayRole:
            column = index.column()
            if column == 0:
                return short(m.summary, 70)
            if column == 1:
                return f"{m.score} {m.band}"
            return "waiting" if m.waiting else "no longer waiting"
        return None
