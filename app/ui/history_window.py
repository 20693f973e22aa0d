"""The history window: every recorded event, filtered, searched, sorted, exported.

Reads the store directly over a read-only connection (as `sandgate history` does): the
SQLite file, or the team's PostgreSQL server when one is configured, so it needs no
running service. Every query runs on one worker thread through
`DatabaseCalls`; the table pages in as it scrolls (`HistoryModel`), the details pane
and the chart are filled when their answers arrive.
"""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import QItemSelection, Qt
from PySide6.QtGui import QCloseEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMainWindow,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.service.backends import DatabaseAt, shown
from app.service.history_queries import HistoryQueries
from app.service.history_rows import EventDetails, HistoryFilter
from app.service.store import Store
from app.settings import RETENTION_DAYS
from app.trust.proposal import Proposal
from app.trust.saving import PolicyFiles
from app.ui.history_chart import DayChart
from app.ui.history_details import DetailsPane, MakeRuleButton
from app.ui.history_export import ExportJob, ask_and_export
from app.ui.history_filters import FilterBar
from app.ui.history_model import HistoryModel
from app.ui.history_worker import DatabaseCalls
from app.ui.trust_rule import MakeRuleDialog

SORTED_BY_HEADER = {0: "time", 5: "score", 6: "band"}  # columns whose header sorts


def retention_text(days: float, database: DatabaseAt | None = None) -> str:
    """What the window says it keeps, and where (set as retention_days and database_url
    in config.yaml)."""
    where = "" if database is None else f" in {shown(database)}"
    return (
        f"Sandgate keeps {days:g} days of history{where}: older events, ended sessions and "
        "reviewed memory changes are pruned each time the service starts. "
        "Held (quarantined) files are kept until a person decides."
    )


class HistoryWindow(QMainWindow):
    """Open with `open_database()`; the first page arrives from the worker."""

    def __init__(
        self,
        database: DatabaseAt,
        retention_days: float = RETENTION_DAYS,
        policy: PolicyFiles | None = None,
    ) -> None:
        """`policy`: the files "Make a rule from this" saves into (None: no such button)."""
        super().__init__()
        self.database = database
        self.policy = policy
        self.setWindowTitle("Sandgate history")
        self.resize(1280, 800)
        self.calls = DatabaseCalls(parent=self)
        self._queries: HistoryQueries | None = None  # created and used on the worker only
        self.export_job: ExportJob | None = None

        self.filters = FilterBar()
        self.chart = DayChart()
        self.model = HistoryModel(self.calls, self._worker_queries, self)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(22)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(False)
        for column, width in enumerate((146, 64, 56, 80, 280, 44, 58, 66, 90)):
            header.resizeSection(column, width)
        header.setSectionResizeMode(4, QHeaderView.ResizeMode.Stretch)
        header.setSortIndicatorShown(True)
        header.setSortIndicator(0, Qt.SortOrder.DescendingOrder)
        header.sectionClicked.connect(self._header_clicked)
        self.details = DetailsPane()
        self.make_rule = MakeRuleButton(policy.home if policy else Path.home())
        self.make_rule.setVisible(policy is not None)
        self.status = QLabel()
        self.status.setTextFormat(Qt.TextFormat.PlainText)
        self.kept = QLabel(retention_text(retention_days, database))
        self.kept.setTextFormat(Qt.TextFormat.PlainText)
        self.kept.setWordWrap(True)
        self.kept.setStyleSheet("color: palette(mid);")
        self.export_button = QPushButton("Export…")
        self.refresh_button = QPushButton("Refresh")

        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.table)
        side = QWidget()
        side_layout = QVBoxLayout(side)
        side_layout.setContentsMargins(0, 0, 0, 0)
        side_layout.addWidget(self.details, 1)
        side_layout.addWidget(self.make_rule)
        splitter.addWidget(side)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        splitter.setSizes([880, 400])
        bottom = QHBoxLayout()
        bottom.addWidget(self.status, 1)
        bottom.addWidget(self.refresh_button)
        bottom.addWidget(self.export_button)
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.addWidget(self.filters)
        layout.addWidget(self.chart)
        layout.addWidget(splitter, 1)
        layout.addLayout(bottom)
        layout.addWidget(self.kept)
        self.setCentralWidget(body)

        self.filters.changed.connect(self.show_filtered)
        self.model.loading.connect(lambda busy: self._loading(bool(busy)))
        self.model.failed.connect(lambda error: self.status.setText(f"Could not read: {error}"))
        self.model.rowsInserted.connect(lambda *_: self._loading(False))
        self.table.selectionModel().selectionChanged.connect(self._selected)
        self.export_button.clicked.connect(lambda _=False: self.export())
        self.refresh_button.clicked.connect(lambda _=False: self.refresh())
        self.make_rule.wanted.connect(self.make_rule_from)
        QShortcut(QKeySequence.StandardKey.Find, self, self.filters.search.setFocus)

    # the worker's side ------------------------------------------------------------------

    def _worker_queries(self) -> HistoryQueries:
        if self._queries is None:
            self._queries = HistoryQueries(self.database)
        return self._queries

    def _prepare(self) -> bool:
        """On the worker: bring an older database forward (as `sandgate history` does)."""
        if isinstance(self.database, Path) and not self.database.exists():
            return False
        Store(self.database).close()
        return True

    # the GUI's side ---------------------------------------------------------------------

    def open_database(self) -> None:
        """Read the store: the chart, the filter choices and the first page."""
        self.status.setText("Reading the history…")

        def prepared(exists: bool) -> None:
            if not exists:
                self.status.setText("Nothing recorded yet.")
                self.chart.show_days(())
                return
            self.refresh()

        def refused(error: str) -> None:
            self.status.setText(f"Cannot read {shown(self.database)}: {error}")

        self.calls.call(self._prepare, then=prepared, failed=refused)

    def refresh(self) -> None:
        """Read again: new events may have been recorded since."""
        self.calls.call(lambda: self._worker_queries().choices(), then=self.filters.offer)
        self.calls.call(lambda: self._worker_queries().per_day(), then=self.chart.show_days)
        self.show_filtered(self.filters.current(), self.filters.current_sort())

    def show_filtered(self, where: HistoryFilter, sort: str) -> None:
        self.details.show_details(None)
        self.make_rule.offer(None)
        self._indicate(sort)
        self.model.show(where, sort)

    def _header_clicked(self, column: int) -> None:
        """Time, Score and Band sort (newest or highest first); other headers do not."""
        sort = SORTED_BY_HEADER.get(column)
        if sort is None or sort == self.model.sort_by:
            self._indicate(self.model.sort_by)  # Qt moved the indicator: put it back
            return
        self.filters.sort.setCurrentIndex(self.filters.sort.findData(sort))

    def _indicate(self, sort: str) -> None:
        column = next(c for c, name in SORTED_BY_HEADER.items() if name == sort)
        self.table.horizontalHeader().setSortIndicator(column, Qt.SortOrder.DescendingOrder)

    def _loading(self, busy: bool) -> None:
        rows = self.model.rowCount()
        if busy and not rows:
            self.status.setText("Searching…")
            return
        more = "" if self.model.complete else " (more as you scroll)"
        self.status.setText(f"{rows:,} events shown{more}. {self.chart.summary()}")

    def _selected(self, selected: QItemSelection, _old: QItemSelection) -> None:
        rows = selected.indexes()
        entry = self.model.entry(rows[0].row()) if rows else None
        if entry is None:
            self.details.show_details(None)
            self.make_rule.offer(None)
            return
        event = entry.event

        def arrived(details: EventDetails | None) -> None:
            current = self.table.currentIndex()
            shown = self.model.entry(current.row()) if current.isValid() else None
            if shown is not None and shown.event == event:  # still the one selected
                self.details.show_details(details)
                self.make_rule.offer(details)

        self.calls.call(lambda: self._worker_queries().details(event), then=arrived)

    def make_rule_from(self, proposals: list[Proposal]) -> MakeRuleDialog | None:
        """Show the YAML the chosen entry adds; the dialog saves it into the policy."""
        if self.policy is None or not proposals:
            return None
        dialog = MakeRuleDialog(proposals, self.policy, self)
        dialog.accepted.connect(
            lambda: self.status.setText(
                f"Saved to {self.policy.user if self.policy else ''}: "
                f"{dialog.saved.title if dialog.saved else ''}."
            )
        )
        dialog.open()
        return dialog

    def export(self) -> None:
        job = ask_and_export(self, self.database, self.model.where, self.model.sort_by)
        if job is not None:
            self.export_job = job
            job.finished.connect(lambda n: self.status.setText(f"Exported {n:,} events."))
            job.failed.connect(lambda error: self.status.setText(f"Export stopped: {error}"))

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.export_job is not None:
            self.export_job.cancel()
            self.export_job.wait()
        self.calls.shutdown()  # the worker is gone: its connection can be closed here
        self._close_queries()
        super().closeEvent(event)

    def _close_queries(self) -> None:
        if self._queries is not None:
            self._queries.close()
            self._queries = None


class HistoryOpener:
    """The tray's "Open history": one window at a time, made anew once closed (a
    closed window has let its worker go)."""

    def __init__(
        self,
        database: DatabaseAt,
        retention_days: float = RETENTION_DAYS,
        policy: PolicyFiles | None = None,
    ) -> None:
        self.database = database
        self.retention_days = retention_days
        self.policy = policy
        self.window: HistoryWindow | None = None

    def open(self) -> None:
        if self.window is None or not self.window.isVisible():
            self.window = HistoryWindow(self.database, self.retention_days, self.policy)
            self.window.show()
            self.window.open_database()
        self.window.raise_()
        self.window.activateWindow()


def run(
    database: DatabaseAt, retention_days: float = RETENTION_DAYS, policy: PolicyFiles | None = None
) -> int:
    """`sandgate history --window`: the window alone, until it is closed."""
    app = QApplication.instance() or QApplication(sys.argv[:1])
    window = HistoryWindow(database, retention_days, policy)
    window.show()
    window.open_database()
    return int(app.exec())
