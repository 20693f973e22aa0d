"""What a session's files do, as the service sees it: a decoy read, a memory file or an
agent settings file changed (recorded with its diff, for review), and the protected
files a session made, moved to quarantine at its end. One per `Sessions`; each call
names the live session it concerns."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from app.paths import Paths
from app.service.database import Database
from app.service.live import Live
from app.service.sandboxing import Decoy, SandboxPort
from sandbox.memory import MAX_BYTES, memory_diff

if TYPE_CHECKING:
    from app.service.review import Review


class Recording(Protocol):
    """What these need of the service's sessions: where to record, the sandbox's side."""

    db: Database
    review: Review | None
    sandbox: SandboxPort
    paths: Paths

    async def record(self, session: str, event: dict[str, Any]) -> dict[str, Any]: ...


MEMORY_SETTLE = 0.2  # seconds a memory file must be quiet before its diff is taken


class SessionFiles:
    def __init__(self, sessions: Recording) -> None:
        self.sessions = sessions

    def on_decoy(self, live: Live, decoy: Decoy) -> Any:
        def opened(event_type: str) -> None:
            if event_type == "opened":
                event = {"kind": "file.read", "path": decoy.shown, "decoy": decoy.credential}
                self._spawn(live, self.sessions.record(live.id, event))

        return opened

    def on_memory(self, live: Live, path: Path, then: Any = None) -> Any:
        def changed(event_type: str) -> None:
            if event_type in ("opened", "closed_no_write"):
                return  # our own reads, and the agent's
            previous = live.settling.pop(path, None)
            if previous is not None:
                previous.cancel()
            live.settling[path] = asyncio.get_running_loop().call_later(
                MEMORY_SETTLE, self._settled, live, path, then
            )

        return changed

    def _settled(self, live: Live, path: Path, then: Any = None) -> None:
        live.settling.pop(path, None)
        self._spawn(live, (then or self.memory_changed)(live, path))

    async def settings_changed(self, live: Live, path: Path) -> None:
        """An agent settings file written in place: its dangerous change is held now."""
        loop = asyncio.get_running_loop()
        held = self.sessions.paths.state / "held-settings"
        items = await loop.run_in_executor(
            None, self.sessions.sandbox.settle_settings, live.prepared, path, held
        )
        await self.reviews(live, items)

    async def reviews(self, live: Live, items: Sequence[tuple[Path, str]]) -> None:
        """Record held settings changes like memory-file changes (sandbox/agent_settings.py)."""
        for path, diff in items:
            await self.sessions.record(
                live.id, {"kind": "memory.write", "path": str(path), "diff": diff}
            )
            await self.sessions.db.call(
                self.sessions.db.store.add_memory_change,
                str(live.workspace),
                str(path),
                diff,
                live.id,
            )

    async def memory_changed(self, live: Live, path: Path) -> None:
        old, new = live.memory.get(path), read_memory(path)
        if old == new:
            return
        if new is None:
            live.memory.pop(path, None)
        else:
            live.memory[path] = new
        diff = memory_diff({} if old is None else {path: old}, {} if new is None else {path: new})
        await self.sessions.record(
            live.id, {"kind": "memory.write", "path": str(path), "diff": diff}
        )
        change = await self.sessions.db.call(
            self.sessions.db.store.add_memory_change, str(live.workspace), str(path), diff, live.id
        )
        if self.sessions.review is not None:
            await self.sessions.review.memory_added(change)

    def _spawn(self, live: Live, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        live.tasks.add(task)
        task.add_done_callback(live.tasks.discard)

    async def quarantine(self, live: Live, files: Sequence[Path]) -> list[str]:
        """Move protected files the session made out of the workspace; record each."""
        if not files:
            return []
        loop = asyncio.get_running_loop()
        folder = self.sessions.paths.quarantine / live.id
        held = await loop.run_in_executor(
            None, self.sessions.sandbox.hold, files, live.workspace, folder
        )
        for original, stored in held:
            key = await self.sessions.db.call(
                self.sessions.db.store.add_quarantined,
                live.id,
                str(live.workspace),
                str(original),
                str(stored),
            )
            event = {"kind": "file.write", "path": str(original), "quarantined": str(stored)}
            await self.sessions.record(live.id, event)
            if self.sessions.review is not None:
                await self.sessions.review.quarantined_added(key)
        return [str(original) for original, _ in held]


def read_memory(path: Path) -> str | None:
    """The text of a memory file (cut at MAX_BYTES), or None if there is none."""
    try:
        with open(path, "rb") as handle:
            return handle.read(MAX_BYTES).decode("utf-8", errors="replace")
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None
