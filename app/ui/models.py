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


Cells = tuple[dict[int, Any], ...]  # per column: role -> value
_DISPLAY = Qt.ItemDataRole.DisplayRole
_FOREGROUND = Qt.ItemDataRole.ForegroundRole
_BACKGROUND = Qt.ItemDataRole.BackgroundRole


class _Table(QAbstractTableModel):
    """A flat table of `HEADERS` columns over the sequence `_items()` returns.

    A view asks each cell for a dozen roles on every repaint: each row's cells are made
    once (`_make_cells`), when first asked for, and kept beside the row until it
    changes (`_cells[n] = None`), not worked out again per call."""

    HEADERS: tuple[str, ...] = ()

    def __init__(self) -> None:
        super().__init__()
        self._cells: list[Cells | None] = []

    def _items(self) -> Any:
        return ()  # each model returns its own rows

    def _make_cells(self, item: Any) -> Cells:
        return ()  # each model makes its own

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._items())

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.HEADERS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = 0) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.HEADERS[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        n = index.row()
        if role == ROW:
            return self._items()[n]
        cells = self._cells[n]
        if cells is None:
            cells = self._cells[n] = self._make_cells(self._items()[n])
        return cells[index.column()].get(role)

    def _changed(self, rows: list[int]) -> None:
        """Rows whose records changed in place: made again and repainted, as one span."""
        for n in rows:
            self._cells[n] = None
        if rows:
            last = len(self.HEADERS) - 1
            self.dataChanged.emit(self.index(rows[0], 0), self.index(rows[-1], last))


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
                    self._changed([n])
            return
        self.beginResetModel()
        self.rows = rows
        self._cells = [None] * len(rows)
        self.endResetModel()

    def _make_cells(self, row: InboxRow) -> Cells:
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
            self._cells = [None] * len(members)
            self.endResetModel()
            return
        kept = zip(old, members[: len(old)], strict=True)
        changed = [n for n, (a, b) in enumerate(kept) if a is not b]
        if len(members) > len(old):
            self.beginInsertRows(QModelIndex(), len(old), len(members) - 1)
            self._cells.extend([None] * (len(members) - len(old)))
        self.members = members
        if len(members) > len(old):
            self.endInsertRows()
        self._changed(changed)

    def _make_cells(self, m: Member) -> Cells:
        return (
            {_DISPLAY: short(m.summary, 70)},
            {_DISPLAY: f"{m.score} {m.band}"},
            {_DISPLAY: "waiting" if m.waiting else "no longer waiting"},
        )
