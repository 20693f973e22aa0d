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
        if role == ROW:
            return row
        # A view asks each cell for a dozen roles on every repaint: answered from the
        # row's cells, made once per row record, not worked out again per call.
        return _cells_of(row, _inbox_cells)[index.column()].get(role)

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
        return _cells_of(m, _member_cells)[index.column()].get(role)


Cells = tuple[dict[int, Any], ...]  # per column: role -> value
_DISPLAY = Qt.ItemDataRole.DisplayRole
_FOREGROUND = Qt.ItemDataRole.ForegroundRole
_BACKGROUND = Qt.ItemDataRole.BackgroundRole
_cells: dict[int, tuple[object, Cells]] = {}  # id(record) -> (record, its cells)
_CELLS_KEPT = 20_000


def _cells_of(record: Any, make: Any) -> Cells:
    """`make(record)`, kept while the record is: rows are frozen, so a record's cells
    never change (the record itself is kept beside them, so its id is not reused)."""
    kept = _cells.get(id(record))
    if kept is not None and kept[0] is record:
        cells: Cells = kept[1]
        return cells
    if len(_cells) >= _CELLS_KEPT:
        _cells.clear()
    cells = make(record)
    _cells[id(record)] = (record, cells)
    return cells


def _inbox_cells(row: InboxRow) -> Cells:
    risk: dict[int, Any] = {
        _DISPLAY: f"{row.band.upper()} {row.score}",
        _FOREGROUND: QColor(BAND_COLOURS.get(row.band, "#000000")),
    }
    if row.band == "critical":
        risk[_BACKGROUND] = QColor(CRITICAL_BACKGROUND)
    title: dict[int, Any] = {_DISPLAY: row.title}
    detail: dict[int, Any] = {_DISPLAY: row.detail}
    if row.expired:
        title[_FOREGROUND] = detail[_FOREGROUND] = QColor("#777777")
    return (risk, title, detail)


def _member_cells(m: Member) -> Cells:
    return (
        {_DISPLAY: short(m.summary, 70)},
        {_DISPLAY: f"{m.score} {m.band}"},
        {_DISPLAY: "waiting" if m.waiting else "no longer waiting"},
    )
