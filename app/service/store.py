"""The Sandgate database: sessions, events, verdicts, decisions, memory changes, quarantine.

SQLAlchemy Core over an SQLite file or, for a team, a PostgreSQL server (`backends.py`).
An SQLite file is created private (0600) before SQLAlchemy opens it and runs in WAL mode
so `sandgate history` can read while the service writes; a server is reached once on
open, so a dead one is an error before anything runs. Either is migrated forward on open
(see `migrations.py`). Every method returns plain frozen rows from `rows.py`.

A `Store` is synchronous. The service calls it from one worker thread (see
`sessions.py`) so that the event loop never waits on the disk; commands call it directly.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Engine, and_, create_engine, delete, event, func, insert, select, update
from sqlalchemy.exc import DBAPIError

from app.service import migrations
from app.service.backends import (
    DatabaseAt,
    DatabaseUnreachable,
    reach,
    reason,
    server_engine,
    shown,
)
from app.service.integrity import DatabaseDamaged
from app.service.review_store import ReviewQueries, is_alert
from app.service.rows import HistoryRow, SessionRow
from app.service.schema import (
    alerts,
    decisions,
    events,
    memory_changes,
    sessions,
    verdicts,
)
from app.service.store_held import HeldRecords

BANDS = ("low", "medium", "high", "critical")


def create_private(path: Path) -> None:
    """Make sure `path` exists and only its owner can read or write it."""
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
    try:
        os.fchmod(fd, 0o600)
    finally:
        os.close(fd)


def _engine(path: Path) -> Engine:
    engine = create_engine(
        f"sqlite:///{path}", connect_args={"check_same_thread": False, "timeout": 10}
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy, not pysqlite, decide where transactions begin, so that
        # DDL in a migration is inside its transaction too (SQLAlchemy's documented
        # recipe for pysqlite).
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN")

    return engine


class Store(HeldRecords):
    """All reads and writes of the database `at` (a file, or a server's URL); created and
    migrated on open. Raises `DatabaseUnreachable` for a server that does not answer."""

    def __init__(self, at: DatabaseAt, *, migrate_to: int = migrations.LATEST) -> None:
        self.at = at
        self.path = at if isinstance(at, Path) else None
        if self.path is None:
            self._engine = server_engine(str(at))
            reach(self._engine, at)
            try:
                self.previous_version = migrations.migrate(
                    self._engine, None, migrate_to, shown(at)
                )
            except DBAPIError as exc:  # reached, but its user may not make the tables
                self._engine.dispose()
                raise DatabaseUnreachable(
                    f"cannot set up the database {shown(at)} ({reason(exc)}); its user needs "
                    "the right to create tables and functions there"
                ) from None
            except BaseException:  # a schema too new, an interrupt: no connection left open
                self._engine.dispose()
                raise
        else:
            self._open_file(self.path, migrate_to)
        self.review = ReviewQueries(self._engine)  # the inbox's queries

    def _open_file(self, path: Path, migrate_to: int) -> None:
        create_private(path)
        self._engine = _engine(path)
        try:
            self.previous_version = migrations.migrate(self._engine, path, migrate_to)
        except DBAPIError as exc:
            self._engine.dispose()
            raise DatabaseDamaged(
                f"the database {path} cannot be read ({exc.orig}); start the service "
                "(`sandgate start`) to move it aside and restore its backup"
            ) from None
        except BaseException:
            self._engine.dispose()
            raise

    def close(self) -> None:
        self._engine.dispose()

    def version(self) -> int:
        with self._engine.connect() as conn:
            return migrations.current_version(conn)

    def journal_mode(self) -> str:
        with self._engine.connect() as conn:
            return str(conn.exec_driver_sql("PRAGMA journal_mode").scalar())

    # sessions ---------------------------------------------------------------------------

    def open_session(
        self,
        session: str,
        workspace: str,
        command: Sequence[str],
        *,
        agent: str | None = None,
        profile: str | None = None,
        started: float | None = None,
    ) -> None:
        with self._engine.begin() as conn:
            conn.execute(
                insert(sessions).values(
                    id=session,
                    workspace=workspace,
                    agent=agent,
                    command=json.dumps(list(command)),
                    profile=profile,
                    started=time.time() if started is None else started,
                )
            )

    def end_session(self, session: str, exit_code: int | None, ended: float | None = None) -> None:
        with self._engine.begin() as conn:
            conn.execute(
                update(sessions)
                .where(sessions.c.id == session)
                .values(ended=time.time() if ended is None else ended, exit_code=exit_code)
            )

    def end_stale_sessions(self, ended: float | None = None) -> int:
        """Close sessions left open by a service that did not stop cleanly (killed, a
        crash, a power cut): no session outlives the service that opened it."""
        with self._engine.begin() as conn:
            result = conn.execute(
                update(sessions)
                .where(sessions.c.ended.is_(None))
                .values(ended=time.time() if ended is None else ended)
            )
        return int(result.rowcount)

    def session(self, session: str) -> SessionRow | None:
        with self._engine.connect() as conn:
            row = conn.execute(select(sessions).where(sessions.c.id == session)).first()
        if row is None:
            return None
        return SessionRow(
            id=row.id,
            workspace=row.workspace,
            agent=row.agent,
            command=tuple(json.loads(row.command)),
            profile=row.profile,
            started=row.started,
            ended=row.ended,
            exit_code=row.exit_code,
        )

    # events, verdicts, decisions --------------------------------------------------------

    def add_event(
        self,
        session: str,
        raw: Mapping[str, Any],
        verdict: Mapping[str, Any] | None = None,
        ts: float | None = None,
    ) -> int:
        """Record one event (and its verdict); return its id. `seq` counts per session.
        An alert (a decoy read, a canary seen) is marked for the review inbox with it."""
        path, host = _locations(raw)
        with self._engine.begin() as conn:
            seq = conn.execute(
                select(func.coalesce(func.max(events.c.seq), 0) + 1).where(
                    events.c.session == session
                )
            ).scalar_one()
            event_id = conn.execute(
                insert(events)
                .values(
                    session=session,
                    seq=seq,
                    kind=str(raw.get("kind", "")),
                    raw=json.dumps(raw, sort_keys=True),
                    path=path,
                    host=host,
                    ts=time.time() if ts is None else ts,
                )
                .returning(events.c.id)
            ).scalar_one()
            if verdict is not None and "band" in verdict:
                conn.execute(
                    insert(verdicts).values(
                        event=event_id,
                        score=int(verdict["score"]),
                        band=str(verdict["band"]),
                        reasons=json.dumps(list(verdict.get("reasons", []))),
                        signature=str(verdict.get("signature", "")),
                    )
                )
                if is_alert(raw, verdict.get("reasons") or ()):
                    conn.execute(insert(alerts).values(event=event_id))
        return int(event_id)

    def add_decision(
        self,
        decision: str,
        scope: str,
        by: str,
        *,
        events_: Sequence[int] = (),
        batch: str | None = None,
        expires: float | None = None,
        ts: float | None = None,
    ) -> None:
        """Record a decision, once per event it covers (or once for the batch alone).

        `by` is the rule id that decided, or "user".
        """
        now = time.time() if ts is None else ts
        values = dict(batch=batch, decision=decision, scope=scope, expires=expires, by=by, ts=now)
        rows = [dict(values, event=e) for e in events_] or [dict(values, event=None)]
        with self._engine.begin() as conn:
            conn.execute(insert(decisions), rows)

    def last_batch(self) -> int:
        """The highest batch number (`bN`) among the latest decisions, 0 if none: the
        queue numbers new batches after it, so an id is not reused by the next run."""
        query = (
            select(decisions.c.batch)
            .where(decisions.c.batch.is_not(None))
            .order_by(decisions.c.id.desc())
            .limit(500)
        )
        with self._engine.connect() as conn:
            found = [str(b) for (b,) in conn.execute(query)]
        return max((int(b[1:]) for b in found if b[:1] == "b" and b[1:].isdigit()), default=0)

    def history(
        self,
        *,
        session: str | None = None,
        bands: Sequence[str] | None = None,
        since: float | None = None,
        limit: int | None = None,
    ) -> list[HistoryRow]:
        """Events with verdicts and latest decisions, oldest first (the last `limit`)."""
        latest = (
            select(decisions.c.decision, decisions.c.by)
            .where(decisions.c.event == events.c.id)
            .order_by(decisions.c.id.desc())
            .limit(1)
        )
        query = (
            select(
                events.c.id,
                events.c.raw,
                events.c.session,
                events.c.seq,
                events.c.ts,
                events.c.kind,
                events.c.path,
                events.c.host,
                verdicts.c.score,
                verdicts.c.band,
                verdicts.c.reasons,
                verdicts.c.signature,
                latest.with_only_columns(decisions.c.decision).scalar_subquery().label("decision"),
                latest.with_only_columns(decisions.c.by).scalar_subquery().label("by"),
            )
            .select_from(events.outerjoin(verdicts, verdicts.c.event == events.c.id))
            .order_by(events.c.ts.desc(), events.c.id.desc())
        )
        if session is not None:
            query = query.where(events.c.session == session)
        if bands:
            query = query.where(verdicts.c.band.in_(list(bands)))
        if since is not None:
            query = query.where(events.c.ts >= since)
        if limit is not None:
            query = query.limit(limit)
        with self._engine.connect() as conn:
            rows = conn.execute(query).all()
        return [
            HistoryRow(
                event=r.id,
                id=_event_id(r.raw),
                session=r.session,
                seq=r.seq,
                ts=r.ts,
                kind=r.kind,
                path=r.path,
                host=r.host,
                score=r.score,
                band=r.band,
                reasons=tuple(json.loads(r.reasons)) if r.reasons else (),
                signature=r.signature,
                decision=r.decision,
                decided_by=r.by,
            )
            for r in reversed(rows)
        ]

    # retention --------------------------------------------------------------------------

    def prune(self, days: float, now: float | None = None) -> int:
        """Forget events, ended sessions and reviewed memory changes older than `days`.

        Quarantined files are kept whatever their age: they wait for a person. Returns
        the number of events removed.
        """
        cutoff = (time.time() if now is None else now) - days * 86400
        with self._engine.begin() as conn:
            removed = conn.execute(delete(events).where(events.c.ts < cutoff)).rowcount
            conn.execute(
                delete(decisions).where(and_(decisions.c.event.is_(None), decisions.c.ts < cutoff))
            )
            conn.execute(
                delete(sessions).where(
                    and_(
                        sessions.c.ended.is_not(None),
                        sessions.c.ended < cutoff,
                        ~select(events.c.id).where(events.c.session == sessions.c.id).exists(),
                    )
                )
            )
            conn.execute(
                delete(memory_changes).where(
                    and_(memory_changes.c.reviewed == 1, memory_changes.c.ts < cutoff)
                )
            )
        return int(removed)


def _locations(raw: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """The path and host an event is about, for the indexed columns of `events`."""
    path = raw.get("path")
    host = raw.get("host")
    tool_input = raw.get("input")
    if path is None and isinstance(tool_input, Mapping):
        path = tool_input.get("file_path")
    url = raw.get("url")
    if url is None and isinstance(tool_input, Mapping):
        url = tool_input.get("url")
    if host is None and isinstance(url, str):
        try:
            host = urlsplit(url).hostname
        except ValueError:
            host = None
    return (path if isinstance(path, str) else None, host if isinstance(host, str) else None)


def _event_id(raw: str) -> str | None:
    value = json.loads(raw).get("id")
    return value if isinstance(value, str) else None
