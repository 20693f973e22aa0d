"""Exporting the history's filtered rows from the window, off the GUI thread.

An `ExportJob` counts the rows, then writes them page by page through the same writer
as `sandgate history --format` on its own worker and connection (so the table keeps
scrolling meanwhile), reporting progress by queued signal; cancelling stops it at the
next page and removes the partial file.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QFileDialog, QProgressDialog, QWidget

from app.service.backends import DatabaseAt
from app.service.history_export import export
from app.service.history_queries import HistoryQueries
from app.service.history_rows import HistoryFilter
from app.ui.history_worker import DatabaseCalls


class ExportJob(QObject):
    """One export of `where` in `sort` order to `target` as `fmt` (csv or jsonl)."""

    counted = Signal(int)
    progressed = Signal(int)
    finished = Signal(int)
    failed = Signal(str)

    def __init__(
        self,
        database: DatabaseAt,
        where: HistoryFilter,
        sort: str,
        target: Path,
        fmt: str,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.database, self.where, self.sort, self.target, self.fmt = (
            database, where, sort, target, fmt,
        )  # fmt: skip
        self._cancel = threading.Event()
        self._calls = DatabaseCalls("sandgate-export", self)

    def start(self) -> None:
        self._calls.call(self._run, then=self.finished.emit, failed=self.failed.emit)

    def cancel(self) -> None:
        self._cancel.set()

    def wait(self) -> None:
        """Block until the worker is done (for closing the window and for tests)."""
        self._calls.shutdown()

    def _run(self) -> int:
        queries = HistoryQueries(self.database)
        try:
            self.counted.emit(queries.count(self.where))
            # Private from the start: it holds what the agents did.
            fd = os.open(self.target, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
            with open(fd, "w", newline="", encoding="utf-8") as out:
                written = export(
                    queries,
                    self.where,
                    self.fmt,
                    out,
                    sort=self.sort,
                    progress=self.progressed.emit,
                    cancelled=self._cancel.is_set,
                )
        finally:
            queries.close()
        if self._cancel.is_set():
            self.target.unlink(missing_ok=True)
            raise RuntimeError("export cancelled; the partial file was removed")
        return written


def ask_and_export(
    parent: QWidget, database: DatabaseAt, where: HistoryFilter, sort: str
) -> ExportJob | None:
    """Ask where to save, then export there with a progress dialog; None if not asked."""
    name, chosen = QFileDialog.getSaveFileName(
        parent, "Export history", "sandgate-history.csv", "CSV (*.csv);;JSON Lines (*.jsonl)"
    )
    if not name:
        return None
    fmt = "jsonl" if name.endswith(".jsonl") or "jsonl" in chosen else "csv"
    job = ExportJob(database, where, sort, Path(name), fmt, parent)
    dialog = QProgressDialog(f"Exporting to {name}…", "Cancel", 0, 0, parent)
    dialog.setWindowModality(Qt.WindowModality.WindowModal)
    dialog.setMinimumDuration(300)  # a small export finishes before it would show
    job.counted.connect(lambda total: dialog.setMaximum(max(total, 1)))
    job.progressed.connect(dialog.setValue)
    dialog.canceled.connect(job.cancel)
    job.finished.connect(lambda _n: dialog.reset())
    job.failed.connect(lambda _e: dialog.reset())
    job.start()
    return job
