"""The review inbox: things that are not held requests but still need a person's look.

- `memory:N` — a memory-file change, accepted before the next session in its workspace
  (`accept`);
- `quarantine:N` — a protected file a session created or changed, held out of the
  workspace (`restore`, `discard`);
- `alert:N` — a decoy credential read or a canary seen, N the event's row number
  (`acknowledge`; kept acknowledged across restarts).

Operations `review` and `review.resolve`; every item added or resolved is published on
the change stream (`review.added`, `review.resolved`).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from app.service import held_files
from app.service.changes import Changes
from app.service.database import Database
from app.service.review_store import DISCARDED, RESTORED, Alert, Judged, is_alert
from app.service.rows import MemoryChange, QuarantinedFile
from app.service.server import Request, RequestError, Service
from app.service.server import field as get

ACTIONS = {"memory": ("accept",), "quarantine": ("restore", "discard"), "alert": ("acknowledge",)}


class Review:
    """Lists and resolves review items; tells the change stream about each."""

    def __init__(self, db: Database, changes: Changes) -> None:
        self.db = db
        self.changes = changes
        # Applies a held agent-settings change when its item is accepted (the sessions
        # set it: the held copy lives with the sandbox side); None applies nothing.
        self.apply_held: Callable[[list[Path]], Awaitable[object]] | None = None

    def install(self, service: Service) -> None:
        service.register("review", self._op_review)
        service.register("review.resolve", self._op_resolve)
        self.changes.provide("review", self.items)

    # listing --------------------------------------------------------------------------

    async def items(self, session: str | None = None) -> list[dict[str, Any]]:
        """Every open review item (of `session` only, if given), oldest first per kind."""
        return await self.db.call(self._items, session)

    def _items(self, session: str | None) -> list[dict[str, Any]]:
        queries = self.db.store.review
        found = [self._memory_item(m) for m in queries.memory()]
        found += [self._quarantine_item(q) for q in queries.quarantined()]
        found += [alert_item(a) for a in queries.alerts()]
        return [i for i in found if session is None or i["session"] == session]

    def _memory_item(self, change: MemoryChange) -> dict[str, Any]:
        judged = self.db.store.review.judged(change.session, "memory.write", change.path)
        return memory_item(change, judged)

    def _quarantine_item(self, held: QuarantinedFile) -> dict[str, Any]:
        judged = self.db.store.review.judged(held.session, "file.write", held.path)
        return quarantine_item(held, judged, held_files.preview(Path(held.stored)))

    # news -----------------------------------------------------------------------------

    async def memory_added(self, change: int) -> None:
        """Publish a memory change just recorded."""
        found = await self.db.call(self.db.store.review.memory, change)
        for item in [await self.db.call(self._memory_item, m) for m in found]:
            self._added(item)

    async def quarantined_added(self, held: int) -> None:
        """Publish a file just moved into quarantine."""
        found = await self.db.call(self.db.store.review.quarantined, held)
        for item in [await self.db.call(self._quarantine_item, q) for q in found]:
            self._added(item)

    async def event_recorded(self, row: int, raw: dict[str, Any], verdict: dict[str, Any]) -> None:
        """Publish an alert if the event just recorded (row `row`) is one."""
        if is_alert(raw, verdict.get("reasons") or ()):
            for alert in await self.db.call(self.db.store.review.alerts, row):
                self._added(alert_item(alert))

    def resolved(self, item: str, action: str, session: str | None) -> None:
        """Publish that `item` was resolved (also by `memory.accept` or `sandgate run`)."""
        self.changes.publish(
            "review.resolved", {"id": item, "action": action}, [session] if session else []
        )

    def _added(self, item: dict[str, Any]) -> None:
        session = item.get("session")
        self.changes.publish("review.added", {"item": item}, [session] if session else [])

    # operations -----------------------------------------------------------------------

    async def _op_review(self, request: Request) -> dict[str, Any]:
        return {"items": await self.items(get(request, "session", str, None))}

    async def _op_resolve(self, request: Request) -> dict[str, Any]:
        item = get(request, "id", str)
        action = get(request, "action", str)
        kind, _, number = item.partition(":")
        if kind not in ACTIONS or not number.isdigit():
            raise RequestError(f"review.resolve: {item!r} is not a review item id")
        if action not in ACTIONS[kind]:
            raise RequestError(
                f"review.resolve: a {kind} item is resolved with {' or '.join(ACTIONS[kind])}"
            )
        if kind == "memory" and self.apply_held is not None:
            found = await self.db.call(self.db.store.review.memory, int(number))
            if found:  # a held settings change is put in place before it counts as accepted
                await self.apply_held([Path(found[0].path)])
        try:
            session = await self.db.call(self._resolve, kind, int(number), action)
        except held_files.HeldFileError as exc:
            raise RequestError(str(exc)) from exc
        if session is False:
            raise RequestError(f"no open review item {item!r} (already resolved?)")
        self.resolved(item, action, session if isinstance(session, str) else None)
        return {"resolved": True}

    def _resolve(self, kind: str, number: int, action: str) -> str | bool | None:
        """Resolve on the database thread; the item's session, or False if not open."""
        queries = self.db.store.review
        if kind == "memory":
            found = queries.memory(number)
            return found[0].session if found and queries.accept_memory(number) else False
        if kind == "alert":
            alerts = queries.alerts(number)
            return alerts[0].session if alerts and queries.acknowledge(number) else False
        held = queries.quarantined(number)
        if not held:
            return False
        original, stored = Path(held[0].path), Path(held[0].stored)
        # The file moves first: a restore that fails leaves the item open.
        if action == "restore":
            held_files.restore(original, stored)
        else:
            held_files.discard(stored)
        queries.release(number, RESTORED if action == "restore" else DISCARDED)
        return held[0].session


def memory_item(change: MemoryChange, judged: Judged) -> dict[str, Any]:
    added = sum(1 for line in change.diff.splitlines() if line.startswith("+"))
    removed = sum(1 for line in change.diff.splitlines() if line.startswith("-"))
    return _item(
        f"memory:{change.id}",
        "memory",
        change.workspace,
        change.session,
        change.path,
        f"{Path(change.path).name} changed (+{added} -{removed} lines): accept it before "
        "the next session in this workspace",
        change.diff,
        judged,
        change.ts,
    )


def quarantine_item(held: QuarantinedFile, judged: Judged, detail: str) -> dict[str, Any]:
    return _item(
        f"quarantine:{held.id}",
        "quarantine",
        held.workspace,
        held.session,
        held.path,
        f"{Path(held.path).name}: a protected file the session made, held out of the workspace",
        detail,
        judged,
        held.ts,
        stored=held.stored,
    )


def alert_item(alert: Alert) -> dict[str, Any]:
    raw = alert.raw
    if raw.get("kind") == "file.read" and raw.get("decoy"):
        summary = f"a decoy of the {raw['decoy']} credentials was read: {raw.get('path', '')}"
    else:
        target = raw.get("url") or raw.get("host") or raw.get("path") or raw.get("kind")
        summary = f"this session's canary token was seen: {raw.get('kind')} {target}"
    return _item(
        f"alert:{alert.event}",
        "alert",
        alert.workspace,
        alert.session,
        raw.get("path") or raw.get("url") or raw.get("host"),
        summary,
        json.dumps(raw, indent=1, sort_keys=True),
        Judged(alert.score, alert.band, alert.reasons),
        alert.ts,
        event=raw.get("id"),
    )


def _item(
    item: str,
    kind: str,
    workspace: str,
    session: str | None,
    path: str | None,
    summary: str,
    detail: str,
    judged: Judged,
    ts: float,
    **extra: Any,
) -> dict[str, Any]:
    return {
        "id": item,
        "kind": kind,
        "workspace": workspace,
        "session": session,
        "path": path,
        "summary": summary,
        "detail": detail,
        "band": judged.band,
        "score": judged.score,
        "reasons": list(judged.reasons),
        "ts": ts,
        "actions": list(ACTIONS[kind]),
        **extra,
    }
