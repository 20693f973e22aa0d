"""The store's queries for the review inbox: memory changes waiting to be accepted,
quarantined files waiting to be restored or discarded, and alerts (a decoy read, a
canary seen) waiting to be acknowledged. Reached as `Store.review`."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, and_, insert, or_, select, update

from app.service.rows import MemoryChange, QuarantinedFile
from app.service.schema import (
    acknowledged,
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


def is_alert(raw: dict[str, Any], reasons: list[dict[str, Any]] | tuple[Any, ...]) -> bool:
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
        # SQL narrows by text; is_alert then decides on the parsed event.
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
                events.outerjoin(verdicts, verdicts.c.event == events.c.id).join(
                    sessions, sessions.c.id == events.c.session
                )
            )
            .where(
                or_(
                    and_(events.c.kind == "file.read", events.c.raw.like('%"decoy": %')),
                    verdicts.c.reasons.like('%.canary"%'),
                ),
                ~select(acknowledged.c.event).where(acknowledged.c.event == events.c.id).exists(),
            )
            .order_by(events.c.id.desc())
            .limit(ALERTS_LISTED)
        )
        if event is not None:
            query = query.where(events.c.id == event)
        with self._engine.connect() as conn:
            rows = conn.execute(query).all()
        found = []
        for r in reversed(rows):
            raw = json.loads(r.raw)
            reasons = tuple(json.loads(r.reasons)) if r.reasons else ()
            if is_alert(raw, reasons):
                alert = Alert(r.id, raw, r.session, r.workspace, r.ts, r.score, r.band, reasons)
                found.append(alert)
        return found

    def acknowledge(self, event: int) -> bool:
        """Mark an alert acknowledged (kept across restarts); False if it already was."""
        with self._engine.begin() as conn:
            done = conn.execute(
                select(acknowledged.c.event).where(acknowledged.c.event == event)
            ).first()
            if done is not None:
                return False
            conn.execute(insert(acknowledged).values(event=event, ts=time.time()))
        return True
