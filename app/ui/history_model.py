"""The history table's model: pages of frozen rows fetched as the view scrolls.

Qt asks `canFetchMore`/`fetchMore` when the view nears the bottom; the next page is
asked of the worker (keyset after the last row held), and inserted when it arrives.
A new filter or sort starts a new generation: pages of the old one that arrive late
are dropped. Only the rows scrolled through are held, never all of them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QColor

from app.service.history_queries import PAGE, HistoryQueries
from app.service.history_rows import HistoryEntry, HistoryFilter
from app.ui.history_worker import DatabaseCalls
from app.ui.text import short

COLUMNS = ("Time", "Session", "Agent", "Kind", "Target", "Score", "Band", "Decision", "By")
BAND_COLOURS = {"critical": "#c62828", "high": "#ef6c00", "medium": "#9e9d24", "low": "#607d8b"}
_Index = QModelIndex | QPersistentModelIndex


def cell(entry: HistoryEntry, column: int) -> str:
    """The text of one cell; agent text made visible and cut to one line."""
    if column == 0:
        return datetime.fromtimestamp(entry.ts).strftime("%Y-%m-%d %H:%M:%S")
    values = (
        None,
        short(entry.session, 14),
        short(entry.agent or "", 12),
        short(entry.kind, 20),
        short(entry.target, 90),
        "" if entry.score is None else str(entry.score),
        entry.band or "",
        entry.decision or "",
        short(entry.decided_by or "", 24),
    )
    return values[column] or ""


class HistoryModel(QAbstractTableModel):
    """Rows of the current filter and sort, newest page last."""

    loading = Signal(int)  # 1 while a page is asked for, 0 when it came (an int: see worker)
    failed = Signal(str)
    first_page = Signal()

    def __init__(
        self,
        calls: DatabaseCalls,
        queries: Callable[[], HistoryQueries],
        parent: Any = None,
        page: int = PAGE,
    ) -> None:
        super().__init__(parent)
        self._calls = calls
        self._queries = queries  # called on the worker: the connection lives there
        self._page = page
        self.rows: list[HistoryEntry] = []
        self.where = HistoryFilter()
        self.sort_by = "time"
        self._generation = 0
        self._pending = False
        self._exhausted = True

    # Qt's table protocol ----------------------------------------------------------------

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = 0) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self.rows):
            return None
        entry = self.rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return cell(entry, index.column())
        if role == Qt.ItemDataRole.ForegroundRole and index.column() == 6 and entry.band:
            return QColor(BAND_COLOURS.get(entry.band, "#000000"))
        if role == Qt.ItemDataRole.TextAlignmentRole and index.column() == 5:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def canFetchMore(self, parent: _Index = QModelIndex()) -> bool:  # noqa: B008
        return not parent.isValid() and not self._exhausted and not self._pending

    def fetchMore(self, parent: _Index = QModelIndex()) -> None:  # noqa: B008
        if self.canFetchMore(parent):
            self._ask(self.rows[-1].sort_key if self.rows else None)

    # filters ----------------------------------------------------------------------------

    def show(self, where: HistoryFilter, sort: str = "time") -> None:
        """Start over with `where` and `sort`; the first page comes from the worker."""
        self._generation += 1
        self.beginResetModel()
        self.rows = []
        self.where, self.sort_by = where, sort
        self._exhausted = False
        self._pending = False
        self.endResetModel()
        self._ask(None)

    def entry(self, row: int) -> HistoryEntry | None:
        return self.rows[row] if 0 <= row < len(self.rows) else None

    @property
    def complete(self) -> bool:
        """Every row of the filter is held (the last page was short)."""
        return self._exhausted

    def _ask(self, after: tuple[Any, ...] | None) -> None:
        generation, where, sort, size = self._generation, self.where, self.sort_by, self._page
        self._pending = True
        self.loading.emit(1)
        self._calls.call(
            lambda: self._queries().page(where, sort, after, size),
            then=lambda rows: self._arrived(generation, rows),
            failed=lambda error: self._broke(generation, error),
        )

    def _arrived(self, generation: int, rows: list[HistoryEntry]) -> None:
        if generation != self._generation:
            return  # a page of a filter no longer shown
        self._pending = False
        self._exhausted = len(rows) < self._page
        self.loading.emit(0)
        if rows:
            start = len(self.rows)
            self.beginInsertRows(QModelIndex(), start, start + len(rows) - 1)
            self.rows.extend(rows)
            self.endInsertRows()
        if len(self.rows) == len(rows):
            self.first_page.emit()

    def _broke(self, generation: int, error: str) -> None:
        if generation != self._generation:
            return
        self._pending = False
        self._exhausted = True
        self.loading.emit(0)
        self.failed.emit(error)
