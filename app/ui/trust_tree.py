"""The trusted-paths tree: the file system, lazily, with each path's state inside the
sandbox and why.

A `QFileSystemModel` reads folders on its own thread as they open. Its Size and Type
columns are taken over to show the state and the reason, answered by an `Explainer`
(one plan of the sandbox, made off the GUI thread by the controller; answering a path
is a walk over the plan's mounts). Hidden files are listed: `.ssh` and `.aws` are what
this window is for. Folders dropped from a file manager are handed to `dropped`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QDir, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QDragEnterEvent, QDragMoveEvent, QDropEvent
from PySide6.QtWidgets import QAbstractItemView, QFileSystemModel, QHeaderView, QTreeView, QWidget

from app.ui.text import visible
from sandbox.explain import Explainer, Explanation

STATE_COLUMN, WHY_COLUMN = 1, 2  # the model's Size and Type, shown as these
COLOURS = {
    "read-write": "#1b7f3b",
    "read-only": "#1f5fa8",
    "decoy": "#9a6700",
    "hidden": "#6e7781",
}

Index = QModelIndex | QPersistentModelIndex


class TrustTreeModel(QFileSystemModel):
    """The file system with two columns of ours: "Inside the sandbox" and "Why"."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.setFilter(QDir.Filter.AllEntries | QDir.Filter.Hidden | QDir.Filter.NoDotAndDotDot)
        self.setReadOnly(True)
        self.explainer: Explainer | None = None
        self._cache: dict[str, Explanation] = {}
        # Set by the controller: a reason made readable, and what the edited file itself
        # says of a path (a denied folder the plan never had to hide, say).
        self.readable: Callable[[str], str] = lambda text: text
        self.own_entries: Callable[[str, str], str] = lambda _path, _why: ""

    def show_plan(self, explainer: Explainer | None) -> None:
        """Answer from this plan from now on; every shown row is asked again."""
        self.explainer = explainer
        self._cache.clear()
        root = self.index(self.rootPath())
        self._changed_below(root)

    def explain(self, path: str) -> Explanation | None:
        if self.explainer is None:
            return None
        if path not in self._cache:
            self._cache[path] = self.explainer.explain(path)
        return self._cache[path]

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            if section == STATE_COLUMN:
                return "Inside the sandbox"
            if section == WHY_COLUMN:
                return "Why"
        return super().headerData(section, orientation, role)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if index.column() not in (STATE_COLUMN, WHY_COLUMN):
            if role == Qt.ItemDataRole.DisplayRole and index.column() == 0:
                return visible(super().data(index, role))
            return super().data(index, role)
        if role not in (
            Qt.ItemDataRole.DisplayRole,
            Qt.ItemDataRole.ToolTipRole,
            Qt.ItemDataRole.ForegroundRole,
        ):
            return None
        answer = self.explain(self.filePath(index))
        if answer is None:
            return "…" if role == Qt.ItemDataRole.DisplayRole else None
        if role == Qt.ItemDataRole.ForegroundRole:
            return QBrush(QColor(COLOURS.get(answer.state, "#000000")))
        why = self.readable(answer.why)
        why += self.own_entries(answer.path, why)
        if role == Qt.ItemDataRole.ToolTipRole:
            return visible(f"{answer.state}: {why}")
        return answer.state if index.column() == STATE_COLUMN else visible(why)

    def _changed_below(self, parent: QModelIndex) -> None:
        rows = self.rowCount(parent)
        if rows:
            self.dataChanged.emit(
                self.index(0, STATE_COLUMN, parent), self.index(rows - 1, WHY_COLUMN, parent)
            )
        for row in range(rows):
            child = self.index(row, 0, parent)
            if self.isDir(child) and self.canFetchMore(child) is False:
                self._changed_below(child)


class TrustTree(QTreeView):
    """The tree view: one selected path at a time; folders and files dropped on it
    are offered to be trusted (`dropped`)."""

    dropped = Signal(list)  # list[str]: absolute paths from a file manager

    def __init__(self, model: TrustTreeModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setModel(model)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setAcceptDrops(True)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DropOnly)
        self.setUniformRowHeights(True)
        self.hideColumn(3)  # the date: not what this window is about
        header = self.header()
        header.setStretchLastSection(True)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        header.resizeSection(0, 230)
        header.resizeSection(STATE_COLUMN, 130)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()
        else:
            super().dragEnterEvent(event)

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()
        else:
            super().dragMoveEvent(event)

    def dropEvent(self, event: QDropEvent) -> None:
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.dropped.emit(paths)
        else:
            event.ignore()
