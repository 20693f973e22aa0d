"""The store's records of what waits for a person's review: memory-file (and agent
settings) changes, and files moved to quarantine. Part of `Store`, over its engine;
listing them for the inbox is `review_store.py`."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import Engine, Table, and_, insert, select, update

from app.service.rows import MemoryChange, QuarantinedFile
from app.service.schema import memory_changes, quarantined


class HeldRecords:
    _engine: Engine

    # memory files -----------------------------------------------------------------------

    def add_memory_change(
        self, workspace: str, path: str, diff: str, session: str | None, ts: float | None = None
    ) -> int:
        now = time.time() if ts is None else ts
        return self._add(
            memory_changes, workspace=workspace, path=path, diff=diff, session=session,
            ts=now, reviewed=0,
        )  # fmt: skip

    def unreviewed_memory(self, workspace: str) -> list[MemoryChange]:
        query = (
            select(memory_changes)
            .where(and_(memory_changes.c.workspace == workspace, memory_changes.c.reviewed == 0))
            .order_by(memory_changes.c.id)
        )
        with self._engine.connect() as conn:
            rows = conn.execute(query).all()
        return [
            MemoryChange(
                id=r.id,
                workspace=r.workspace,
                path=r.path,
                diff=r.diff,
                session=r.session,
                ts=r.ts,
                reviewed=bool(r.reviewed),
            )
            for r in rows
        ]

    def accept_memory(self, workspace: str) -> int:
        """Mark every unreviewed change in `workspace` reviewed; return how many."""
        with self._engine.begin() as conn:
            result = conn.execute(
                update(memory_changes)
                .where(
                    and_(memory_changes.c.workspace == workspace, memory_changes.c.reviewed == 0)
                )
                .values(reviewed=1)
            )
        return int(result.rowcount)

    # quarantine -------------------------------------------------------------------------

    def add_quarantined(
        self, session: str, workspace: str, path: str, stored: str, ts: float | None = None
    ) -> int:
        now = time.time() if ts is None else ts
        return self._add(
            quarantined, session=session, workspace=workspace, path=path, stored=stored,
            ts=now, released=0,
        )  # fmt: skip

    def _add(self, table: Table, **values: Any) -> int:
        """Insert one row; its new id."""
        with self._engine.begin() as conn:
            key = conn.execute(insert(table).values(**values).returning(table.c.id)).scalar_one()
        return int(key)

    def quarantined(self, session: str | None = None) -> list[QuarantinedFile]:
        query = select(quarantined).where(quarantined.c.released == 0).order_by(quarantined.c.id)
        if session is not None:
            query = query.where(quarantined.c.session == session)
        with self._engine.connect() as conn:
            rows = conn.execute(query).all()
        return [
            QuarantinedFile(
                id=r.id,
                session=r.session,
                workspace=r.workspace,
                path=r.path,
                stored=r.stored,
                ts=r.ts,
            )
            for r in rows
        ]
