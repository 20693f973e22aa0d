"""The history's queries: pages of events behind filters, one event's details, the chart.

Reads the database file directly over a read-only SQLite connection (WAL lets it read
while the service writes), so the history works with or without a running service.
Pages are keyset-paged (`after` is the last row's `sort_key`), never OFFSET-paged, so
the thousandth page costs what the first does; each filter and sort is served by an
index of migration 4, and the text search by its FTS5 index (`events_text`).

A `HistoryQueries` is used from one thread at a time (the GUI's database worker, or a
command); it returns only the frozen rows of `history_rows.py`.
"""

from __future__ import annotations

import contextlib
import json
import re
import sqlite3
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from app.service.history_rows import (
    ANY_RULE,
    BANDS,
    UNDECIDED,
    Choices,
    DayCounts,
    DecisionRecord,
    EventDetails,
    HistoryEntry,
    HistoryFilter,
)

PAGE = 200
_RANKED = tuple(reversed(BANDS))  # critical first

_COLUMNS = """e.id, e.raw, e.session, e.ts, e.kind, e.path, e.host,
    coalesce(json_extract(e.raw, '$.command'), json_extract(e.raw, '$.input.command')),
    v.score, v.band, v.reasons, s.workspace, s.agent,
    d.decision, d.scope, d.by, d.batch"""
# The latest decision on each event, by a primary-key lookup per row.
_LATEST = """LEFT JOIN decisions d ON d.id =
    (SELECT max(id) FROM decisions WHERE decisions.event = e.id)
    LEFT JOIN sessions s ON s.id = e.session"""


def match_query(text: str) -> str:
    """The FTS5 query for what a person typed: every word must occur, the last one as a
    prefix (it may still be being typed; a prefix costs more, so only there). Each word
    is quoted, so FTS5's operators (`OR`, `NEAR`, `-`, `*`) typed in are searched for as
    text instead of being obeyed."""
    words = ['"' + w.replace('"', '""') + '"' for w in text.split() if re.search(r"\w", w)]
    if words:
        words[-1] += "*"
    return " ".join(words)


def connect_readonly(path: Path) -> sqlite3.Connection:
    """A read-only connection to the database at `path`, usable from one other thread."""
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False)
    conn.execute("PRAGMA query_only=ON")
    # A text search over a million events looks up tens of thousands of rows by id;
    # SQLite's default 2 MB page cache would read most of them from the file again on
    # every keystroke. Memory-mapped reads and a larger cache keep them at hand.
    conn.execute("PRAGMA mmap_size=268435456")
    conn.execute("PRAGMA cache_size=-65536")
    return conn


class HistoryQueries:
    """The history's reads over one read-only connection."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn = connect_readonly(path)

    def close(self) -> None:
        self._conn.close()

    # pages ------------------------------------------------------------------------------

    def page(
        self,
        where: HistoryFilter,
        sort: str = "time",
        after: tuple[Any, ...] | None = None,
        limit: int = PAGE,
    ) -> list[HistoryEntry]:
        """The next `limit` rows after the row whose `sort_key` is `after` (None: the
        first page). Newest first by time; highest first by score; by band, critical
        first and newest recorded first within a band."""
        if match_query(where.text):
            return self._searched_page(where, sort, after, limit)
        if sort == "band":
            return self._band_page(where, after, limit)
        clauses, params = _filters(where)
        if sort == "score":
            source = "verdicts v CROSS JOIN events e ON e.id = v.event"
            order = "v.score DESC, e.id DESC"
            if after is not None:
                clauses.append("(v.score, e.id) < (?, ?)")
                params += [after[0], after[1]]
        else:
            source = "events e LEFT JOIN verdicts v ON v.event = e.id"
            order = "e.ts DESC, e.id DESC"
            if after is not None:
                clauses.append("(e.ts, e.id) < (?, ?)")
                params += [after[0], after[1]]
        rows = self._select(source, clauses, params, order, limit)
        if sort == "score":
            return [_entry(r, (r[8], r[0])) for r in rows]
        return [_entry(r, (r[3], r[0])) for r in rows]

    def _band_page(
        self, where: HistoryFilter, after: tuple[Any, ...] | None, limit: int
    ) -> list[HistoryEntry]:
        # One index range per band (verdicts_band holds the event id), critical first,
        # so the sort never reads more rows than a page needs.
        out: list[HistoryEntry] = []
        start = 0 if after is None else int(after[0])
        for rank in range(start, len(_RANKED)):
            if where.bands and _RANKED[rank] not in where.bands:
                continue
            clauses, params = _filters(where)
            clauses.append("v.band = ?")
            params.append(_RANKED[rank])
            if after is not None and rank == start:
                clauses.append("v.event < ?")
                params.append(after[1])
            source = "verdicts v CROSS JOIN events e ON e.id = v.event"
            rows = self._select(source, clauses, params, "v.event DESC", limit - len(out))
            out += [_entry(r, (rank, r[0])) for r in rows]
            if len(out) >= limit:
                break
        return out

    def _searched_page(
        self, where: HistoryFilter, sort: str, after: tuple[Any, ...] | None, limit: int
    ) -> list[HistoryEntry]:
        # The text index names the candidates (often tens of thousands): they are checked
        # and ordered over the narrow indexes first, then only one page is read whole.
        clauses, params = _filters(where)
        rank = "CASE v.band " + " ".join(f"WHEN '{b}' THEN {i}" for i, b in enumerate(_RANKED))
        key = {"time": "e.ts", "score": "v.score", "band": rank + " END"}[sort]
        if sort != "time":
            clauses.append("v.event IS NOT NULL")
        if after is not None:
            if sort == "band":
                clauses.append(f"({key} > ? OR ({key} = ? AND e.id < ?))")
                params += [after[0], after[0], after[1]]
            else:
                clauses.append(f"({key}, e.id) < (?, ?)")
                params += [after[0], after[1]]
        order = f"{key} ASC, e.id DESC" if sort == "band" else f"{key} DESC, e.id DESC"
        sql = (
            f"SELECT e.id, {key} FROM events e INDEXED BY events_narrow"
            " LEFT JOIN verdicts v INDEXED BY verdicts_narrow ON v.event = e.id"
            f" WHERE {' AND '.join(clauses)} ORDER BY {order} LIMIT ?"
        )
        keys = self._conn.execute(sql, [*params, limit]).fetchall()
        if not keys:
            return []
        marks = ", ".join("?" * len(keys))
        rows = self._conn.execute(
            f"SELECT {_COLUMNS} FROM events e LEFT JOIN verdicts v ON v.event = e.id {_LATEST}"
            f" WHERE e.id IN ({marks})",
            [k[0] for k in keys],
        ).fetchall()
        by_id = {r[0]: r for r in rows}
        return [_entry(by_id[k[0]], (k[1], k[0])) for k in keys if k[0] in by_id]

    def _select(
        self, source: str, clauses: list[str], params: list[Any], order: str, limit: int
    ) -> list[tuple[Any, ...]]:
        sql = f"SELECT {_COLUMNS} FROM {source} {_LATEST}"
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        sql += f" ORDER BY {order} LIMIT ?"
        return self._conn.execute(sql, [*params, limit]).fetchall()

    def count(self, where: HistoryFilter) -> int:
        """How many events the filter keeps (for an export's progress bar)."""
        clauses, params = _filters(where)
        sql = "SELECT count(*) FROM events e LEFT JOIN verdicts v ON v.event = e.id"
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        return int(self._conn.execute(sql, params).fetchone()[0])

    # one event --------------------------------------------------------------------------

    def details(self, event: int) -> EventDetails | None:
        """The whole event `event`, every decision on it, and the size of its batch."""
        sql = f"""SELECT {_COLUMNS}, v.signature FROM events e
            LEFT JOIN verdicts v ON v.event = e.id {_LATEST} WHERE e.id = ?"""
        row = self._conn.execute(sql, (event,)).fetchone()
        if row is None:
            return None
        found = self._conn.execute(
            "SELECT decision, scope, by, batch, ts, expires FROM decisions"
            " WHERE event = ? ORDER BY id",
            (event,),
        ).fetchall()
        batch = row[16]
        size = 0
        if batch is not None:
            size = self._conn.execute(
                "SELECT count(DISTINCT event) FROM decisions WHERE batch = ?", (batch,)
            ).fetchone()[0]
        return EventDetails(
            entry=_entry(row, (row[3], row[0])),
            raw=row[1],
            signature=row[17],
            decisions=tuple(DecisionRecord(*d) for d in found),
            batch_size=int(size),
        )

    # the chart and the filter boxes -----------------------------------------------------

    def per_day(self, days: int = 30, now: float | None = None) -> list[DayCounts]:
        """The last `days` days: actions recorded, actions a person decided, and the
        decisions a person made (a batch decided at once counts once)."""
        since = (time.time() if now is None else now) - days * 86400
        day = "date(ts, 'unixepoch', 'localtime')"
        actions = dict(
            self._conn.execute(
                f"SELECT {day}, count(*) FROM events WHERE ts >= ? GROUP BY 1", (since,)
            ).fetchall()
        )
        people = {
            r[0]: (r[1], r[2])
            for r in self._conn.execute(
                f"""SELECT {day}, count(DISTINCT event),
                    count(DISTINCT coalesce(batch, 'decision ' || id))
                FROM decisions WHERE by = 'user' AND ts >= ? GROUP BY 1""",
                (since,),
            ).fetchall()
        }
        out = []
        for key in sorted(set(actions) | set(people)):
            reached, made = people.get(key, (0, 0))
            out.append(DayCounts(key, int(actions.get(key, 0)), int(reached), int(made)))
        return out

    def choices(self) -> Choices:
        """The sessions, workspaces, agents, kinds and deciding rules recorded."""

        def column(sql: str) -> tuple[str, ...]:
            return tuple(str(r[0]) for r in self._conn.execute(sql) if r[0] is not None)

        return Choices(
            sessions=column("SELECT id FROM sessions ORDER BY started DESC LIMIT 500"),
            workspaces=column("SELECT DISTINCT workspace FROM sessions ORDER BY 1"),
            agents=column("SELECT DISTINCT agent FROM sessions ORDER BY 1"),
            # A skip-scan over events_kind_ts: one probe per kind, not one per event.
            kinds=_distinct(self._conn, "events", "kind"),
            rules=column("SELECT DISTINCT by FROM decisions WHERE by != 'user' ORDER BY 1"),
        )


def _distinct(conn: sqlite3.Connection, table: str, column: str) -> tuple[str, ...]:
    found: list[str] = []
    while True:
        sql = f"SELECT min({column}) FROM {table}"
        row = conn.execute(sql + (f" WHERE {column} > ?" if found else ""), found[-1:]).fetchone()
        if row[0] is None:
            return tuple(found)
        found.append(str(row[0]))


def _filters(where: HistoryFilter) -> tuple[list[str], list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    if where.session:
        clauses.append("e.session = ?")
        params.append(where.session)
    if where.workspace:
        clauses.append("e.session IN (SELECT id FROM sessions WHERE workspace = ?)")
        params.append(where.workspace)
    if where.agent:
        clauses.append("e.session IN (SELECT id FROM sessions WHERE agent = ?)")
        params.append(where.agent)
    if where.bands:
        clauses.append(f"v.band IN ({', '.join('?' * len(where.bands))})")
        params += list(where.bands)
    if where.kind:
        clauses.append("e.kind = ?")
        params.append(where.kind)
    if where.decision == UNDECIDED:
        clauses.append("NOT EXISTS (SELECT 1 FROM decisions x WHERE x.event = e.id)")
    elif where.decision:
        clauses.append("e.id IN (SELECT event FROM decisions WHERE decision = ?)")
        params.append(where.decision)
    if where.decided_by == ANY_RULE:
        clauses.append("e.id IN (SELECT event FROM decisions WHERE by != 'user')")
    elif where.decided_by:
        clauses.append("e.id IN (SELECT event FROM decisions WHERE by = ?)")
        params.append(where.decided_by)
    query = match_query(where.text)
    if query:
        clauses.append("e.id IN (SELECT rowid FROM events_text WHERE events_text MATCH ?)")
        params.append(query)
    elif where.text.strip():
        clauses.append("0")  # only punctuation typed: nothing can match it as words
    if where.since is not None:
        clauses.append("e.ts >= ?")
        params.append(where.since)
    if where.until is not None:
        clauses.append("e.ts < ?")
        params.append(where.until)
    return clauses, params


def _entry(r: Sequence[Any], key: tuple[Any, ...]) -> HistoryEntry:
    command = r[7]
    if command is not None and not isinstance(command, str):
        command = json.dumps(command)
    raw_id = None
    with contextlib.suppress(ValueError, AttributeError):  # a row written by hand
        raw_id = json.loads(r[1]).get("id")
    return HistoryEntry(
        event=r[0],
        id=raw_id if isinstance(raw_id, str) else None,
        session=r[2],
        workspace=r[11],
        agent=r[12],
        ts=r[3],
        kind=r[4],
        path=r[5],
        host=r[6],
        command=command,
        score=r[8],
        band=r[9],
        reasons=tuple(json.loads(r[10])) if r[10] else (),
        decision=r[13],
        scope=r[14],
        decided_by=r[15],
        batch=r[16],
        sort_key=key,
    )
