"""The history window's queries over a store of 1,000,000 events, on SQLite and on
PostgreSQL.

Fills a real SQLite file (through the real migrations, so the FTS5 triggers and the
indexes are the ones users get), then times, each against a bare `SELECT` of the same
page measured in the same run:
  - the first page, newest first, as the window opens;
  - a filtered, text-searched page (band high+, workspace, text "aws credentials");
  - a page deep in the list (keyset-paged, as scrolling reaches it);
  - the first page sorted by score.
Then the same on a throwaway PostgreSQL server (tests/postgres_cluster.py, on a Unix
socket; skipped when Debian's `postgresql` is not installed), filled with the same rows
through its real migrations: the events' words are indexed by migration 4's own
statement for the events recorded before it, rather than row by row by its triggers,
which only makes the fill faster; its shared buffers are 1 GB, as a team's server's
would be. Targets: under 200 ms each on SQLite.
Run: `python benchmarks/bench_history.py [events] [--sqlite-only]`.
"""

from __future__ import annotations

import json
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from app.service.backends import DatabaseAt
from app.service.history_queries import HistoryQueries
from app.service.history_rows import HistoryFilter
from app.service.store import Store

KINDS = ("net.connect", "file.read", "exec", "tool")
HOSTS = ("pypi.org", "github.com", "registry.npmjs.org", "api.example.test", "evil.example")
PATHS = ("/w/src/main.py", "/w/README.md", "/h/.aws/credentials", "/h/.ssh/id_ed25519")
AGENTS = ("claude", "codex", "gemini")
BANDS = (("low", 10), ("medium", 30), ("high", 60), ("critical", 90))


Batch = tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[tuple[Any, ...]]]


def sessions(now: float) -> list[tuple[Any, ...]]:
    return [(f"s{i}", f"/w{i % 5}", AGENTS[i % 3], "[]", now - 61 * 86400) for i in range(50)]


def batches(count: int, now: float, seed: int = 7, size: int = 50_000) -> Iterator[Batch]:
    """`count` events over 60 days in 50 sessions, with verdicts and decisions, as rows
    of (events, verdicts, decisions) a batch at a time."""
    rnd = random.Random(seed)
    events, verdicts, decisions = [], [], []
    for n in range(1, count + 1):
        kind = KINDS[n % 4]
        raw: dict[str, object] = {"id": f"e{n}", "kind": kind}
        path = host = None
        if kind == "net.connect":
            host = rnd.choice(HOSTS)
            raw["host"] = host
        elif kind == "file.read":
            path = rnd.choice(PATHS)
            raw["path"] = path
        elif kind == "exec":
            raw["command"] = f"make test-{n % 97}"
        else:
            raw["tool"] = "Bash"
            raw["input"] = {"command": f"git log -n {n % 13}"}
        ts = now - 60 * 86400 * (1 - n / count)
        events.append((n, f"s{n % 50}", n, kind, json.dumps(raw), path, host, ts))
        pick = rnd.random()
        band, score = BANDS[0 if pick < 0.85 else 1 if pick < 0.93 else 2 if pick < 0.98 else 3]
        why = "reads AWS credentials" if path == "/h/.aws/credentials" else f"{kind} seen"
        reasons = [{"rule": f"rule.{kind}", "points": score, "why": why}]
        verdicts.append((n, score + n % 7, band, json.dumps(reasons), f"{kind} {host or path}"))
        if band in ("high", "critical"):
            decisions.append(
                (n, f"b{n // 5}", "deny" if n % 3 else "allow", "once", "user", ts + 9)
            )
        elif band == "medium":
            decisions.append((n, None, "allow", "session", f"rule.{kind}", ts + 1))
        if len(events) == size or n == count:
            yield events, verdicts, decisions
            events, verdicts, decisions = [], [], []


def fill(path: Path, count: int, now: float | None = None) -> None:
    """An SQLite file of `count` events (see `batches`)."""
    now = time.time() if now is None else now
    Store(path).close()  # the real schema, migrations and triggers
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    with conn:
        conn.executemany(
            "INSERT INTO sessions (id, workspace, agent, command, started) VALUES (?,?,?,?,?)",
            sessions(now),
        )
    for events, verdicts, decisions in batches(count, now):
        with conn:
            conn.executemany("INSERT INTO events VALUES (?,?,?,?,?,?,?,?)", events)
            conn.executemany("INSERT INTO verdicts VALUES (?,?,?,?,?)", verdicts)
            conn.executemany(
                "INSERT INTO decisions (event, batch, decision, scope, by, ts)"
                " VALUES (?,?,?,?,?,?)",
                decisions,
            )
    conn.execute("PRAGMA optimize")
    conn.close()


def fill_server(url: str, folder: Path, count: int, now: float | None = None) -> None:
    """The same rows on a PostgreSQL server, written with COPY."""
    import psycopg

    from app.service.migrations_postgres import MIGRATIONS

    now = time.time() if now is None else now
    Store(url).close()  # the real schema, migrations and triggers
    name = url.split("://", 1)[1].split("/", 1)[1].split("?", 1)[0]
    with psycopg.connect(host=str(folder), user="sandgate", dbname=name) as conn:
        # The triggers are skipped while filling; migration 4's statement for events
        # recorded before it then indexes every event's words at once, as they would be.
        conn.execute("SET session_replication_role = replica")
        columns = {
            "sessions": "id, workspace, agent, command, started",
            "events": "id, session, seq, kind, raw, path, host, ts",
            "verdicts": "event, score, band, reasons, signature",
            "decisions": "event, batch, decision, scope, by, ts",
        }

        def copy(table: str, rows: list[tuple[Any, ...]]) -> None:
            with conn.cursor().copy(f"COPY {table} ({columns[table]}) FROM STDIN") as out:
                for row in rows:
                    out.write_row(row)

        copy("sessions", sessions(now))
        for events, verdicts, decisions in batches(count, now):
            copy("events", events)
            copy("verdicts", verdicts)
            copy("decisions", decisions)
        conn.execute("SELECT setval(pg_get_serial_sequence('events', 'id'), max(id)) FROM events")
        conn.execute(MIGRATIONS[4][-1])
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE")


def timed(fn: object, runs: int = 7) -> float:
    """Median milliseconds of `fn()`."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def measure(
    at: DatabaseAt, count: int, bare: Callable[[str], object], label: str
) -> dict[str, float]:
    """Time the window's queries on the store `at`, each beside `bare(sql)` of the same
    page; print them and return the milliseconds by query."""
    queries = HistoryQueries(at)
    first = HistoryFilter()
    searched = HistoryFilter(bands=("high", "critical"), workspace="/w1", text="aws credentials")
    deep = queries.page(first, limit=1)[0].sort_key
    pages = count // 400
    for _ in range(pages):  # walk half the rows down, as scrolling would
        deep = queries.page(first, after=deep, limit=200)[-1].sort_key
    cases = {
        "first page": (
            lambda: queries.page(first),
            "SELECT * FROM events ORDER BY ts DESC, id DESC LIMIT 200",
        ),
        "filtered + text search": (
            lambda: queries.page(searched),
            "SELECT * FROM events ORDER BY ts DESC, id DESC LIMIT 200",
        ),
        f"page {pages:,} (keyset)": (
            lambda: queries.page(first, after=deep),
            f"SELECT * FROM events WHERE (ts, id) < ({deep[0]!r}, {deep[1]})"
            " ORDER BY ts DESC, id DESC LIMIT 200",
        ),
        "first page by score": (
            lambda: queries.page(first, sort="score"),
            "SELECT * FROM verdicts ORDER BY score DESC, event DESC LIMIT 200",
        ),
    }
    found = len(queries.page(searched))
    print(f"{label:28} {'ms':>8} {'bare ms':>8} {'ratio':>7}")
    out = {}
    for name, (fn, sql) in cases.items():
        ms = timed(fn)
        base = timed(lambda s=sql: bare(s))  # type: ignore[misc]
        out[name] = ms
        print(f"{name:28} {ms:8.2f} {base:8.2f} {ms / base:6.1f}x")
    print(f"(the text search kept {found} rows of its first page; target < 200 ms each)")
    chart = timed(lambda: queries.per_day(), runs=3)
    print(f"chart, 30 days per day: {chart:.0f} ms (off the GUI thread)")
    queries.close()
    return out


def on_sqlite(count: int, tmp: Path) -> dict[str, float]:
    db = tmp / "sandgate.db"
    start = time.perf_counter()
    fill(db, count)
    print(f"SQLite: filled {count:,} events in {time.perf_counter() - start:.1f} s")
    bare = sqlite3.connect(db)
    try:
        return measure(db, count, lambda sql: bare.execute(sql).fetchall(), "SQLite query")
    finally:
        bare.close()


def on_server(count: int) -> dict[str, float] | None:
    import psycopg

    from tests.postgres_cluster import Cluster, server_programs

    if server_programs() is None:
        print("PostgreSQL: not installed here (Debian's postgresql), skipped")
        return None
    # Shared buffers as a server holding a team's history would have them (the default,
    # 128 MB, is less than this store's text index): the queries are measured, not the
    # operating system's page cache.
    cluster = Cluster().start(shared_buffers="1GB")
    try:
        url = cluster.create_database("bench")
        start = time.perf_counter()
        fill_server(url, cluster.folder, count)
        print(f"PostgreSQL: filled {count:,} events in {time.perf_counter() - start:.1f} s")
        with psycopg.connect(host=str(cluster.folder), user="sandgate", dbname="bench1") as bare:
            return measure(url, count, lambda sql: bare.execute(sql).fetchall(), "PostgreSQL query")
    finally:
        cluster.stop()


def main() -> int:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    count = int(args[0]) if args else 1_000_000
    with tempfile.TemporaryDirectory() as tmp:
        lite = on_sqlite(count, Path(tmp))
    server = None if "--sqlite-only" in sys.argv else on_server(count)
    if server is not None:
        print(f"{'PostgreSQL / SQLite':28} {'ratio':>8}")
        for name, ms in server.items():
            print(f"{name:28} {ms / lite[name]:7.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
