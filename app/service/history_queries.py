"""The history's queries: pages of events behind filters, one event's details, the chart.

The same SQL for an SQLite file and a PostgreSQL server, through SQLAlchemy; the few
places they differ (a join-order hint, SQLite's index hints, the text index) ask
`self.server`. A file is read over a read-only connection (WAL lets it read while the
service writes), a server over read-only sessions, so the history works with or without a
running service. Pages are keyset-paged (`after` is the last row's `sort_key`), never
OFFSET-paged, so the thousandth page costs what the first does; each filter and sort is
served by an index of migration 4, and the text search by its text index (`events_text`,
see `history_search.py`).

A `HistoryQueries` is used from one thread at a time (the GUI's database worker, or a
command); it returns only the frozen rows of `history_rows.py`.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, text

from app.service.backends import DatabaseAt, readonly_engine
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
from app.service.history_search import match_query, search_for, text_clause

__all__ = ["PAGE", "HistoryQueries", "match_query"]

PAGE = 200
_RANKED = tuple(reversed(BANDS))  # critical first

_COLUMNS = """e.id, e.raw, e.session, e.ts, e.kind, e.path, e.host,
    v.score, v.band, v.reasons, s.workspace, s.agent,
    d.decision, d.scope, d.by, d.batch"""
# The latest decision on each event, by a primary-key lookup per row.
_LATEST = """LEFT JOIN decisions d ON d.id =
    (SELECT max(id) FROM decisions WHERE decisions.event = e.id)
    LEFT JOIN sessions s ON s.id = e.session"""


class _Params:
    """Named bind parameters, numbered as clauses add them."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def __call__(self, value: Any) -> str:
        name = f"p{len(self.values)}"
        self.values[name] = value
        return ":" + name


class HistoryQueries:
    """The history's reads of the database `at` (a file, or a server's URL)."""

    def __init__(self, at: DatabaseAt) -> None:
        self.at = at
        self.server = not isinstance(at, Path)
        self._engine = readonly_engine(at)
        # SQLite takes CROSS JOIN as "in this order"; PostgreSQL has no ON for it.
        self._join = "JOIN" if self.server else "CROSS JOIN"

    def close(self) -> None:
        self._engine.dispose()

    def _rows(self, sql: str, params: dict[str, Any] | None = None) -> list[Any]:
        with self._engine.connect() as conn:
            return list(conn.execute(text(sql), params or {}).all())

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
        bind = _Params()
        clauses = self._filters(where, bind)
        if sort == "score":
            source = f"verdicts v {self._join} events e ON e.id = v.event"
            order = "v.score DESC, e.id DESC"
            if after is not None:
                clauses.append(f"(v.score, e.id) < ({bind(after[0])}, {bind(after[1])})")
        else:
            source = "events e LEFT JOIN verdicts v ON v.event = e.id"
            order = "e.ts DESC, e.id DESC"
            if after is not None:
                clauses.append(f"(e.ts, e.id) < ({bind(after[0])}, {bind(after[1])})")
        rows = self._select(source, clauses, bind, order, limit)
        if sort == "score":
            return [_entry(r, (r[7], r[0])) for r in rows]
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
            bind = _Params()
            clauses = self._filters(where, bind)
            clauses.append(f"v.band = {bind(_RANKED[rank])}")
            if after is not None and rank == start:
                clauses.append(f"v.event < {bind(after[1])}")
            source = f"verdicts v {self._join} events e ON e.id = v.event"
            rows = self._select(source, clauses, bind, "v.event DESC", limit - len(out))
            out += [_entry(r, (rank, r[0])) for r in rows]
            if len(out) >= limit:
                break
        return out

    def _searched_page(
        self, where: HistoryFilter, sort: str, after: tuple[Any, ...] | None, limit: int
    ) -> list[HistoryEntry]:
        # The text index names the candidates (often tens of thousands): they are checked
        # and ordered over the narrow indexes first, then only one page is read whole.
        bind = _Params()
        clauses = self._filters(where, bind)
        rank = "CASE v.band " + " ".join(f"WHEN '{b}' THEN {i}" for i, b in enumerate(_RANKED))
        key = {"time": "e.ts", "score": "v.score", "band": rank + " END"}[sort]
        if sort != "time":
            clauses.append("v.event IS NOT NULL")
        if after is not None:
            if sort == "band":
                last, event = bind(after[0]), bind(after[1])
                clauses.append(f"({key} > {last} OR ({key} = {last} AND e.id < {event}))")
            else:
                clauses.append(f"({key}, e.id) < ({bind(after[0])}, {bind(after[1])})")
        order = f"{key} ASC, e.id DESC" if sort == "band" else f"{key} DESC, e.id DESC"
        hint = (
            ("", "")
            if self.server
            else (" INDEXED BY events_narrow", " INDEXED BY verdicts_narrow")
        )
        sql = (
            f"SELECT e.id, {key} FROM events e{hint[0]}"
            f" LEFT JOIN verdicts v{hint[1]} ON v.event = e.id"
            f" WHERE {' AND '.join(clauses)} ORDER BY {order} LIMIT {bind(limit)}"
        )
        keys = self._rows(sql, bind.values)
        if not keys:
            return []
        wanted = _Params()
        marks = ", ".join(wanted(k[0]) for k in keys)
        rows = self._rows(
            f"SELECT {_COLUMNS} FROM events e LEFT JOIN verdicts v ON v.event = e.id {_LATEST}"
            f" WHERE e.id IN ({marks})",
            wanted.values,
        )
        by_id = {r[0]: r for r in rows}
        return [_entry(by_id[k[0]], (k[1], k[0])) for k in keys if k[0] in by_id]

    def _select(
        self, source: str, clauses: list[str], bind: _Params, order: str, limit: int
    ) -> list[Any]:
        sql = f"SELECT {_COLUMNS} FROM {source} {_LATEST}"
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        sql += f" ORDER BY {order} LIMIT {bind(limit)}"
        return self._rows(sql, bind.values)

    def count(self, where: HistoryFilter) -> int:
        """How many events the filter keeps (for an export's progress bar)."""
        bind = _Params()
        clauses = self._filters(where, bind)
        sql = "SELECT count(*) FROM events e LEFT JOIN verdicts v ON v.event = e.id"
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        return int(self._rows(sql, bind.values)[0][0])

    # one event --------------------------------------------------------------------------

    def details(self, event: int) -> EventDetails | None:
        """The whole event `event`, every decision on it, and the size of its batch."""
        sql = f"""SELECT {_COLUMNS}, v.signature FROM events e
            LEFT JOIN verdicts v ON v.event = e.id {_LATEST} WHERE e.id = :event"""
        found = self._rows(sql, {"event": event})
        if not found:
            return None
        row = found[0]
        decided = self._rows(
            "SELECT decision, scope, by, batch, ts, expires FROM decisions"
            " WHERE event = :event ORDER BY id",
            {"event": event},
        )
        batch = row[15]
        size = 0
        if batch is not None:
            size = self._rows(
                "SELECT count(DISTINCT event) FROM decisions WHERE batch = :batch",
                {"batch": batch},
            )[0][0]
        return EventDetails(
            entry=_entry(row, (row[3], row[0])),
            raw=row[1],
            signature=row[16],
            decisions=tuple(DecisionRecord(*d) for d in decided),
            batch_size=int(size),
        )

    # the chart and the filter boxes -----------------------------------------------------

    def per_day(self, days: int = 30, now: float | None = None) -> list[DayCounts]:
        """The last `days` days: actions recorded, actions a person decided, and the
        decisions a person made (a batch decided at once counts once). Days are this
        computer's local days, cut here (a server's time zone may not be the reader's)."""
        now = time.time() if now is None else now
        spans = _local_days(now, days)
        bind = _Params()
        # One count over the index of times per day: no row is read, none grouped.
        values = ", ".join(f"({bind(day)}, {bind(lo)}, {bind(hi)})" for day, lo, hi in spans)
        actions = {
            r[0]: r[1]
            for r in self._rows(
                f"WITH days (day, lo, hi) AS (VALUES {values}) SELECT day, (SELECT count(*)"
                " FROM events WHERE events.ts >= days.lo AND events.ts < days.hi) FROM days",
                bind.values,
            )
            if r[1]
        }
        # A person's decisions are few: read once, each put in its day by its time.
        bind = _Params()
        day = (
            "CASE "
            + " ".join(f"WHEN ts < {bind(hi)} THEN {bind(key)}" for key, _lo, hi in spans[:-1])
            + f" ELSE {bind(spans[-1][0])} END"
        )
        people = {
            r[0]: (r[1], r[2])
            for r in self._rows(
                f"""SELECT {day}, count(DISTINCT event),
                    count(DISTINCT coalesce(batch, 'decision ' || id))
                FROM decisions WHERE by = 'user' AND ts >= {bind(spans[0][1])} GROUP BY 1""",
                bind.values,
            )
        }
        out = []
        for key in sorted(set(actions) | set(people)):
            reached, made = people.get(key, (0, 0))
            out.append(DayCounts(key, int(actions.get(key, 0)), int(reached), int(made)))
        return out

    def choices(self) -> Choices:
        """The sessions, workspaces, agents, kinds and deciding rules recorded."""

        def column(sql: str) -> tuple[str, ...]:
            return tuple(str(r[0]) for r in self._rows(sql) if r[0] is not None)

        with self._engine.connect() as conn:
            # A skip-scan over events_kind_ts: one probe per kind, not one per event.
            kinds = _distinct(conn, "events", "kind")
        return Choices(
            sessions=column("SELECT id FROM sessions ORDER BY started DESC LIMIT 500"),
            workspaces=column("SELECT DISTINCT workspace FROM sessions ORDER BY 1"),
            agents=column("SELECT DISTINCT agent FROM sessions ORDER BY 1"),
            kinds=kinds,
            rules=column("SELECT DISTINCT by FROM decisions WHERE by != 'user' ORDER BY 1"),
        )

    def _filters(self, where: HistoryFilter, bind: _Params) -> list[str]:
        clauses: list[str] = []
        if where.session:
            clauses.append(f"e.session = {bind(where.session)}")
        if where.workspace:
            clauses.append(
                f"e.session IN (SELECT id FROM sessions WHERE workspace = {bind(where.workspace)})"
            )
        if where.agent:
            clauses.append(
                f"e.session IN (SELECT id FROM sessions WHERE agent = {bind(where.agent)})"
            )
        if where.bands:
            clauses.append(f"v.band IN ({', '.join(bind(b) for b in where.bands)})")
        if where.kind:
            clauses.append(f"e.kind = {bind(where.kind)}")
        if where.decision == UNDECIDED:
            clauses.append("NOT EXISTS (SELECT 1 FROM decisions x WHERE x.event = e.id)")
        elif where.decision:
            clauses.append(
                f"e.id IN (SELECT event FROM decisions WHERE decision = {bind(where.decision)})"
            )
        if where.decided_by == ANY_RULE:
            clauses.append("e.id IN (SELECT event FROM decisions WHERE by != 'user')")
        elif where.decided_by:
            clauses.append(
                f"e.id IN (SELECT event FROM decisions WHERE by = {bind(where.decided_by)})"
            )
        query = search_for(where.text, self.server)
        if query is None:
            clauses.append("1 = 0")  # nothing typed can match as words (only punctuation)
        elif query:
            clauses.append(text_clause(self.server).replace(":text", bind(query)))
        if where.since is not None:
            clauses.append(f"e.ts >= {bind(where.since)}")
        if where.until is not None:
            clauses.append(f"e.ts < {bind(where.until)}")
        return clauses


def _local_days(now: float, days: int) -> list[tuple[str, float, float]]:
    """(day, from, until) for each local day from `days` days before `now` to today;
    the first starts at that moment, the last is open-ended."""
    since = now - days * 86400
    first = datetime.fromtimestamp(since).date()
    last = datetime.fromtimestamp(now).date()
    out = []
    day = first
    while day <= last:
        following = day + timedelta(days=1)
        lo = max(since, _midnight(day))
        hi = _midnight(following) if day < last else float("inf")
        out.append((day.isoformat(), lo, hi))
        day = following
    return out


def _midnight(day: date) -> float:
    return datetime(day.year, day.month, day.day).timestamp()


def _distinct(conn: Connection, table: str, column: str) -> tuple[str, ...]:
    found: list[str] = []
    while True:
        sql = f"SELECT min({column}) FROM {table}"
        if found:
            row = conn.execute(text(sql + f" WHERE {column} > :after"), {"after": found[-1]})
        else:
            row = conn.execute(text(sql))
        value = row.scalar()
        if value is None:
            return tuple(found)
        found.append(str(value))


def _command(raw: dict[str, Any]) -> str | None:
    """The command an event ran (`command`, or a tool's `input.command`), as text."""
    command = raw.get("command")
    if command is None and isinstance(raw.get("input"), dict):
        command = raw["input"].get("command")
    if command is None or isinstance(command, str):
        return command
    return json.dumps(command, separators=(",", ":"))


def _entry(r: Sequence[Any], key: tuple[Any, ...]) -> HistoryEntry:
    raw: dict[str, Any] = {}
    with contextlib.suppress(ValueError):  # a row written by hand
        loaded = json.loads(r[1])
        raw = loaded if isinstance(loaded, dict) else {}
    raw_id = raw.get("id")
    return HistoryEntry(
        event=r[0],
        id=raw_id if isinstance(raw_id, str) else None,
        session=r[2],
        workspace=r[10],
        agent=r[11],
        ts=r[3],
        kind=r[4],
        path=r[5],
        host=r[6],
        command=_command(raw),
        score=r[7],
        band=r[8],
        reasons=tuple(json.loads(r[9])) if r[9] else (),
        decision=r[12],
        scope=r[13],
        decided_by=r[14],
        batch=r[15],
        sort_key=key,
    )
