"""The store's queries for the review inbox: memory changes waiting to be accepted,
quarantined files waiting to be restored or discarded, and alerts (a decoy read, a
canary seen) waiting to be acknowledged. Reached as `Store.review`.

An event is marked as an alert when it is recorded (`Store.add_event`, with `is_alert`),
so listing them never reads the whole history."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, and_, select, update

from app.service.rows import MemoryChange, QuarantinedFile
from app.service.schema import (
    alerts,
    events,
    memory_changes,
    quarantined,
    sessions,
    verdicts,
)

RESTORED, DISCARDED = 1, 2  # values of `quarantined.released`
ALERTS_LISTED = 200  # newest unacknowledged alerts listed


@dataclass(frozen=True)
class Alert:
    """An event that needs a person's look even though no request waits on it."""

    event: int  # the row number
    raw: dict[str, Any]
    session: str
    workspace: str
    ts: float
    score: int | None
    band: str | None
    reasons: tuple[dict[str, Any], ...]


@dataclass(frozen=True)
class Judged:
    """The verdict of the event that produced a memory change or a quarantined file."""

    score: int | None = None
    band: str | None = None
    reasons: tuple[dict[str, Any], ...] = ()


def is_alert(raw: Mapping[str, Any], reasons: Iterable[Any]) -> bool:
    """A read of a decoy credential, or any rule that saw this session's canary."""
    if raw.get("kind") == "file.read" and raw.get("decoy"):
        return True
    return any(str(r.get("rule", "")).endswith(".canary") for r in reasons if isinstance(r, dict))


class ReviewQueries:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    # memory changes -------------------------------------------------------------------

    def memory(self, change: int | None = None) -> list[MemoryChange]:
        """Unreviewed memory changes of every workspace (or the one `change`), oldest first."""
        query = select(memory_changes).where(memory_changes.c.reviewed == 0)
        if change is not None:
            query = query.where(memory_changes.c.id == change)
        with self._engine.connect() as conn:
            rows = conn.execute(query.order_by(memory_changes.c.id)).all()
        return [
            MemoryChange(r.id, r.workspace, r.path, r.diff, r.session, r.ts, bool(r.reviewed))
            for r in rows
        ]

    def accept_memory(self, change: int) -> bool:
        with self._engine.begin() as conn:
            result = conn.execute(
                update(memory_changes)
                .where(and_(memory_changes.c.id == change, memory_changes.c.reviewed == 0))
                .values(reviewed=1)
            )
        return bool(result.rowcount)

    # quarantine -----------------------------------------------------------------------

    def quarantined(self, held: int | None = None) -> list[QuarantinedFile]:
        """Files still held (neither restored nor discarded), oldest first."""
        query = select(quarantined).where(quarantined.c.released == 0)
        if held is not None:
            query = query.where(quarantined.c.id == held)
        with self._engine.connect() as conn:
            rows = conn.execute(query.order_by(quarantined.c.id)).all()
        return [QuarantinedFile(r.id, r.session, r.workspace, r.path, r.stored, r.ts) for r in rows]

    def release(self, held: int, how: int) -> bool:
        """Mark a held file restored or discarded; False if it was not held any more."""
        with self._engine.begin() as conn:
            result = conn.execute(
                update(quarantined)
                .where(and_(quarantined.c.id == held, quarantined.c.released == 0))
                .values(released=how)
            )
        return bool(result.rowcount)

    # verdicts of the events behind them -----------------------------------------------

    def judged(self, session: str | None, kind: str, path: str) -> Judged:
        """The verdict of the newest `kind` event of `session` about `path`."""
        if session is None:
            return Judged()
        query = (
            select(verdicts.c.score, verdicts.c.band, verdicts.c.reasons)
            .select_from(events.join(verdicts, verdicts.c.event == events.c.id))
            .where(and_(events.c.session == session, events.c.kind == kind, events.c.path == path))
            .order_by(events.c.id.desc())
            .limit(1)
        )
        with self._engine.connect() as conn:
            row = conn.execute(query).first()
        if row is None:
            return Judged()
        return Judged(row.score, row.band, tuple(json.loads(row.reasons)))

    # alerts ---------------------------------------------------------------------------

    def alerts(self, event: int | None = None) -> list[Alert]:
        """Unacknowledged alerts, oldest first (the newest ALERTS_LISTED)."""
        query = (
            select(
                events.c.id,
                events.c.raw,
                events.c.session,
                sessions.c.workspace,
                events.c.ts,
                verdicts.c.score,
                verdicts.c.band,
                verdicts.c.reasons,
            )
            .select_from(
                alerts.join(events, events.c.id == alerts.c.event)
                .join(sessions, sessions.c.id == events.c.session)
                .outerjoin(verdicts, verdicts.c.event == events.c.id)
            )
            .where(alerts.c.acknowledged.is_(None))
            .order_by(alerts.c.event.desc())
            .limit(ALERTS_LISTED)
        )
        if event is not None:
            query = query.where(alerts.c.event == event)
        with self._engine.connect() as conn:
            rows = conn.execute(query).all()
        return [
            Alert(
                r.id,
                json.loads(r.raw),
                r.session,
                r.workspace,
                r.ts,
                r.score,
                r.band,
                tuple(json.loads(r.reasons)) if r.reasons else (),
            )
            for r in reversed(rows)
        ]

    def acknowledge(self, event: int) -> bool:
        """Mark an alert acknowledged (kept across restarts); False if it already was."""
        with self._engine.begin() as conn:
            result = conn.execute(
                update(alerts)
                .where(and_(alerts.c.event == event, alerts.c.acknowledged.is_(None)))
                .values(acknowledged=time.time())
            )
        return bool(result.rowcount)
