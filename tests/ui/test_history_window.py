"""The history window on a real SQLite file: paging 100,000 rows, each filter through
the filter bar, the text search, the details pane, the chart, and the export. The
sample's tests run on a real PostgreSQL server too (the `database` fixture)."""

from __future__ import annotations

import csv
import json
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt
from pytestqt.qtbot import QtBot

from app.service.backends import shown as shown_at
from app.service.history_queries import PAGE
from app.service.store import Store
from app.ui.history_export import ExportJob
from app.ui.history_window import HistoryWindow
from app.ui.text import visible
from tests.service.test_history_queries import NOW, record_sample

ROWS = 100_000
KINDS = ("net.connect", "file.read", "exec", "tool")


def fill(database: Path, count: int, now: float) -> None:
    """`count` events in 10 sessions, one in ten of them decided by a person; written
    in bulk (the triggers of the real schema still index each for the text search)."""
    Store(database).close()
    conn = sqlite3.connect(database)
    with conn:
        conn.executemany(
            "INSERT INTO sessions (id, workspace, agent, command, started) VALUES (?,?,?,?,?)",
            [(f"s{i}", f"/w{i % 2}", ("claude", "codex")[i % 2], "[]", now) for i in range(10)],
        )
        conn.executemany(
            "INSERT INTO events VALUES (?,?,?,?,?,?,?,?)",
            (
                (n, f"s{n % 10}", n, KINDS[n % 4], json.dumps({"id": f"e{n}"}),
                 None, f"h{n}.test", now - count + n)
                for n in range(1, count + 1)
            ),
        )  # fmt: skip
        conn.executemany(
            "INSERT INTO verdicts VALUES (?,?,?,?,?)",
            ((n, n % 100, ("low", "medium", "high", "critical")[n % 100 // 25],
              json.dumps([{"rule": "r", "points": n % 100, "why": "w"}]), "s")
             for n in range(1, count + 1)),
        )  # fmt: skip
        conn.executemany(
            "INSERT INTO decisions (event, batch, decision, scope, by, ts) VALUES (?,?,?,?,?,?)",
            ((n, f"b{n // 100}", "deny", "once", "user", now) for n in range(10, count + 1, 10)),
        )
    conn.close()


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Path:
    database = tmp_path_factory.mktemp("big") / "sandgate.db"
    fill(database, ROWS, time.time())
    return database


@pytest.fixture
def opened(qtbot: QtBot, database: Path | str) -> Iterator[tuple[HistoryWindow, dict[str, int]]]:
    ids = record_sample(database, now=time.time())
    window = HistoryWindow(database)
    qtbot.addWidget(window)
    window.show()
    window.open_database()
    qtbot.waitUntil(lambda: window.model.rowCount() == 6 and window.model.complete)
    yield window, ids
    window.close()


def shown(window: HistoryWindow, ids: dict[str, int]) -> list[str]:
    back = {v: k for k, v in ids.items()}
    return [back[e.event] for e in window.model.rows]


def settle(qtbot: QtBot, window: HistoryWindow, expected: list[str], ids: dict[str, int]) -> None:
    qtbot.waitUntil(lambda: window.model.complete and shown(window, ids) == expected, timeout=5000)


def test_pages_in_as_the_view_scrolls_and_never_holds_every_row(qtbot: QtBot, big: Path) -> None:
    window = HistoryWindow(big)
    qtbot.addWidget(window)
    window.show()
    started = time.perf_counter()
    window.open_database()
    qtbot.waitUntil(lambda: window.model.rowCount() == PAGE, timeout=10000)
    first_page_s = time.perf_counter() - started
    assert window.model.rows[0].event == ROWS  # newest first
    assert not window.model.complete and window.model.canFetchMore()
    for pages in range(2, 6):  # as the view reaches the bottom, a page at a time
        window.table.scrollToBottom()
        qtbot.waitUntil(lambda n=pages: window.model.rowCount() >= n * PAGE, timeout=10000)
    held = window.model.rowCount()
    assert PAGE * 5 <= held < ROWS // 10
    events = [e.event for e in window.model.rows]
    assert events == list(range(ROWS, ROWS - held, -1))  # no row twice, none missed
    assert first_page_s < 10  # a sanity bound, not a benchmark (see bench_history.py)
    window.filters.search.setText("h99999.test")
    qtbot.waitUntil(lambda: [e.event for e in window.model.rows] == [99999], timeout=10000)
    window.close()


def test_each_filter_box(qtbot: QtBot, opened: tuple[HistoryWindow, dict[str, int]]) -> None:
    window, ids = opened
    bar = window.filters
    qtbot.waitUntil(lambda: bar.session.count() == 4 and bar.kind.count() == 5)
    for box, value, expected in (
        (bar.session, "s1", ["aws", "pypi"]),
        (bar.workspace, "/w/api", ["bare", "evil", "paste", "make"]),
        (bar.agent, "codex", ["paste", "make"]),
        (bar.kind, "file.read", ["evil", "aws"]),
        (bar.band, "high", ["evil", "paste", "aws"]),
        (bar.decision, "deny", ["paste", "aws"]),
        (bar.decision, "none", ["bare", "evil"]),
        (bar.by, "user", ["paste", "make", "aws"]),
        (bar.by, "rule", ["pypi"]),
        (bar.by, "egress.known", ["pypi"]),
    ):
        box.setCurrentIndex(box.findData(value))
        settle(qtbot, window, expected, ids)
        box.setCurrentIndex(0)
        settle(qtbot, window, ["bare", "evil", "paste", "make", "aws", "pypi"], ids)
    bar.range.setCurrentIndex(bar.range.findData(86400))  # the last 24 hours
    settle(qtbot, window, ["bare", "evil", "paste"], ids)
    bar.range.setCurrentIndex(0)
    bar.sort.setCurrentIndex(bar.sort.findData("score"))
    settle(qtbot, window, ["aws", "paste", "evil", "make", "pypi"], ids)
    header = window.table.horizontalHeader()

    def click(column: int) -> None:
        x = header.sectionViewportPosition(column) + header.sectionSize(column) // 2
        qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(x, 5))

    click(6)  # the Band header
    settle(qtbot, window, ["aws", "evil", "paste", "make", "pypi"], ids)
    assert bar.current_sort() == "band"
    click(4)  # Target does not sort
    assert header.sortIndicatorSection() == 6 and window.model.sort_by == "band"
    click(0)
    settle(qtbot, window, ["bare", "evil", "paste", "make", "aws", "pypi"], ids)


def test_text_search_waits_for_typing_to_pause(
    qtbot: QtBot, opened: tuple[HistoryWindow, dict[str, int]]
) -> None:
    window, ids = opened
    for key in "decoy":
        qtbot.keyClicks(window.filters.search, key)
    settle(qtbot, window, ["aws"], ids)
    window.filters.search.setText("paste.example")
    settle(qtbot, window, ["paste"], ids)
    window.filters.search.setText("no such words")
    settle(qtbot, window, [], ids)
    assert window.status.text().startswith("0 events shown")


def test_details_pane_shows_the_whole_event_with_agent_text_visible(
    qtbot: QtBot, opened: tuple[HistoryWindow, dict[str, int]]
) -> None:
    window, ids = opened
    row = shown(window, ids).index("evil")
    window.table.selectRow(row)
    qtbot.waitUntil(lambda: "path.odd" in window.details.toPlainText())
    text = window.details.toPlainText()
    assert "\u202e" not in text and visible("/w/\u202eevil") in text
    assert "score 55   band high" in text and "no decision recorded" in text
    window.table.selectRow(shown(window, ids).index("paste"))
    qtbot.waitUntil(lambda: "batch b1: 2 event(s)" in window.details.toPlainText())
    assert "deny (once) by a person" in window.details.toPlainText()
    assert "+60  egress.unknown: no rule names it" in window.details.toPlainText()


def test_chart_and_what_the_window_keeps(opened: tuple[HistoryWindow, dict[str, int]]) -> None:
    window, _ids = opened
    assert sum(d.actions for d in window.chart.days) == 6
    assert sum(d.decisions for d in window.chart.days) == 2
    assert "3 reached a person" in window.chart.summary()
    assert "keeps 90 days" in window.kept.text() and "pruned" in window.kept.text()
    assert shown_at(window.database) in window.kept.text()  # the file, or the server
    assert window.chart.grab().width() > 0


def test_the_window_says_the_retention_and_store_that_are_configured(
    qtbot: QtBot, tmp_path: Path
) -> None:
    window = HistoryWindow("postgresql://auditor:hunter2@db.example/audit", retention_days=30)
    qtbot.addWidget(window)
    text = window.kept.text()
    assert "keeps 30 days of history in postgresql://auditor@db.example/audit" in text
    assert "hunter2" not in text
    window.close()


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_export_round_trip_off_the_gui_thread(qtbot: QtBot, big: Path, tmp_path: Path, fmt: str):
    from app.service.history_rows import HistoryFilter

    target = tmp_path / f"out.{fmt}"
    job = ExportJob(big, HistoryFilter(bands=("critical",)), "time", target, fmt)
    totals: list[int] = []
    progress: list[int] = []
    job.counted.connect(totals.append)
    job.progressed.connect(progress.append)
    with qtbot.waitSignal(job.finished, timeout=60000) as done:
        job.start()
    assert done.args == [ROWS // 4] and totals == [ROWS // 4]
    assert progress[-1] == ROWS // 4 and len(progress) > 5  # a bar that moves
    assert target.stat().st_mode & 0o777 == 0o600
    if fmt == "csv":
        with target.open(newline="") as f:
            rows = list(csv.DictReader(f))
        bands = {r["band"] for r in rows}
        events = [int(r["event"]) for r in rows]
    else:
        rows = [json.loads(line) for line in target.read_text().splitlines()]
        bands = {r["band"] for r in rows}
        events = [r["event"] for r in rows]
    assert bands == {"critical"} and len(events) == ROWS // 4
    assert events == sorted(events, reverse=True)
    job.wait()


def test_cancelled_export_leaves_no_partial_file(qtbot: QtBot, big: Path, tmp_path: Path):
    from app.service.history_rows import HistoryFilter

    target = tmp_path / "out.csv"
    job = ExportJob(big, HistoryFilter(), "time", target, "csv")
    job.progressed.connect(lambda _n: job.cancel())
    with qtbot.waitSignal(job.failed, timeout=60000) as failed:
        job.start()
    assert "cancelled" in failed.args[0]
    assert not target.exists()
    job.wait()


def test_missing_database_says_nothing_is_recorded(qtbot: QtBot, tmp_path: Path) -> None:
    window = HistoryWindow(tmp_path / "none.db")
    qtbot.addWidget(window)
    window.open_database()
    qtbot.waitUntil(lambda: window.status.text() == "Nothing recorded yet.")
    assert not (tmp_path / "none.db").exists()
    assert NOW > 0
    window.close()
