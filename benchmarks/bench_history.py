"""The history window's queries over a store of 1,000,000 events.

Fills a real SQLite file (through the real migrations, so the FTS5 triggers and the
indexes are the ones users get), then times, each against a bare `SELECT` of the same
page measured in the same run:
  - the first page, newest first, as the window opens;
  - a filtered, text-searched page (band high+, workspace, text "aws credentials");
  - a page deep in the list (keyset-paged, as scrolling reaches it);
  - the first page sorted by score.
Targets: under 200 ms each. Run: `python benchmarks/bench_history.py [events]`.
"""

from __future__ import annotations

import json
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

from app.service.history_queries import HistoryQueries
from app.service.history_rows import HistoryFilter
from app.service.store import Store

KINDS = ("net.connect", "file.read", "exec", "tool")
HOSTS = ("pypi.org", "github.com", "registry.npmjs.org", "api.example.test", "evil.example")
PATHS = ("/w/src/main.py", "/w/README.md", "/h/.aws/credentials", "/h/.ssh/id_ed25519")
AGENTS = ("claude", "codex", "gemini")
BANDS = (("low", 10), ("medium", 30), ("high", 60), ("critical", 90))


def fill(path: Path, count: int, seed: int = 7, now: float | None = None) -> None:
    """`count` events over 60 days in 50 sessions, with verdicts and decisions."""
    rnd = random.Random(seed)
    now = time.time() if now is None else now
    Store(path).close()  # the real schema, migrations and triggers
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    with conn:
        conn.executemany(
            "INSERT INTO sessions (id, workspace, agent, command, started) VALUES (?,?,?,?,?)",
            [
                (
                    f"s{i}",
                    f"/w{i % 5}",
                    ("claude", "codex", "gemini")[i % 3],
                    "[]",
                    now - 61 * 86400,
                )
                for i in range(50)
            ],
        )
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
        if len(events) == 50_000 or n == count:
            with conn:
                conn.executemany("INSERT INTO events VALUES (?,?,?,?,?,?,?,?)", events)
                conn.executemany("INSERT INTO verdicts VALUES (?,?,?,?,?)", verdicts)
                conn.executemany(
                    "INSERT INTO decisions (event, batch, decision, scope, by, ts)"
                    " VALUES (?,?,?,?,?,?)",
                    decisions,
                )
            events, verdicts, decisions = [], [], []
    conn.execute("PRAGMA optimize")
    conn.close()


def timed(fn: object, runs: int = 7) -> float:
    """Median milliseconds of `fn()`."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> int:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "sandgate.db"
        start = time.perf_counter()
        fill(db, count)
        print(f"filled {count:,} events in {time.perf_counter() - start:.1f} s")
        queries = HistoryQueries(db)
        bare = sqlite3.connect(db)
        first = HistoryFilter()
        searched = HistoryFilter(
            bands=("high", "critical"), workspace="/w1", text="aws credentials"
        )
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
        print(f"{'query':28} {'ms':>8} {'bare ms':>8} {'ratio':>7}")
        for name, (fn, sql) in cases.items():
            ms = timed(fn)
            base = timed(lambda s=sql: bare.execute(s).fetchall())  # type: ignore[misc]
            print(f"{name:28} {ms:8.2f} {base:8.2f} {ms / base:6.1f}x")
        print(f"(the text search kept {found} rows of its first page; target < 200 ms each)")
        chart = timed(lambda: queries.per_day(), runs=3)
        print(f"chart, 30 days per day: {chart:.0f} ms (off the GUI thread)")
        queries.close()
        bare.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
