"""What the macOS sandbox refused, from the system log, recorded as the session's events.

Under Seatbelt no decoy watch sees a read: the kernel refuses it and logs a line ending
in the session's tag (sandbox/seatbelt/violations.py). For each session a `LogFollower`
streams those lines from before the agent starts until the session closes; each event
is triaged and recorded through the same path as any other (`Sessions.record`), so the
inbox, history and the canary rules see it. On Linux nothing is installed (bubblewrap
leaves no such log: its decoys are watched instead).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sandbox.seatbelt.plan import session_tag
from sandbox.seatbelt.violations import LogFollower, log_stream_argv

if TYPE_CHECKING:
    from app.service.parts import Parts

logger = logging.getLogger(__name__)


class SystemLog:
    """A `SessionHook`: one log stream per session. `argv_for(tag)` is the streaming
    command (`log stream` on macOS; tests give their own)."""

    def __init__(
        self, parts: Parts, argv_for: Callable[[str], Sequence[str]] = log_stream_argv
    ) -> None:
        self.parts = parts
        self.argv_for = argv_for
        self._followers: dict[str, LogFollower] = {}
        self._recording: set[asyncio.Future[Any]] = set()

    async def opening(self, session: str, workspace: Path, policy: Any) -> None:
        loop = asyncio.get_running_loop()
        tag = session_tag(self.parts.paths.sessions / session)

        def seen(event: dict[str, Any]) -> None:  # on the follower's thread
            loop.call_soon_threadsafe(self._record, session, event)

        follower = LogFollower(tag, session, seen, self.argv_for(tag))
        await loop.run_in_executor(None, follower.start)
        self._followers[session] = follower

    def _record(self, session: str, event: dict[str, Any]) -> None:
        task = asyncio.ensure_future(self.parts.sessions.record(session, event))
        self._recording.add(task)
        task.add_done_callback(self._recorded)

    def _recorded(self, task: asyncio.Future[Any]) -> None:
        self._recording.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("recording a sandbox refusal failed", exc_info=task.exception())

    async def closing(self, session: str) -> None:
        """Stop the stream, then wait until what it had read is recorded."""
        follower = self._followers.pop(session, None)
        if follower is not None:
            await asyncio.get_running_loop().run_in_executor(None, follower.stop)
            await asyncio.sleep(0)  # the last call_soon_threadsafe callbacks run
        if self._recording:
            await asyncio.gather(*list(self._recording), return_exceptions=True)

    def bound(self, session: str) -> dict[str, str]:
        return {}


async def install_system_log(parts: Parts) -> None:
    """Join the service when the sandbox is Seatbelt (macOS); elsewhere do nothing."""
    from sandbox.backend import backend_name

    if backend_name() == "seatbelt":
        parts.sessions.hooks.append(SystemLog(parts))
