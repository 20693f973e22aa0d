"""Whether the service can record what sessions do, and what happens when it cannot.

The design fails closed: a session that cannot be recorded does not get network. When a
write of an event or a decision fails (a full disk: "database or disk is full", or any
other error of the store), every session loses its network until a write succeeds
again, the failure is logged, and each watcher (`sandgate run`, the tray) is told in a
sentence. The request whose record failed is refused by the proxy itself, since it waits
for the record of every request it lets through.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from app.service.backends import reason as store_reason
from app.service.changes import Changes

logger = logging.getLogger(__name__)


class RecordHealth:
    """Tracks failed writes; halts and resumes egress through the callbacks it is given."""

    def __init__(
        self,
        changes: Changes,
        database: str,
        halt: Callable[[str], None],
        resume: Callable[[], None],
        sessions: Callable[[], list[str]],
    ) -> None:
        self.changes = changes
        self.database = database
        self._halt = halt
        self._resume = resume
        self._sessions = sessions
        self.failure: str | None = None  # the reason sessions are told, while failing

    def failed(self, exc: BaseException) -> str:
        """A write failed: halt every session's network (once); return the reason."""
        reason = (
            f"cannot record to {self.database} ({store_reason(exc)}): no network for any session "
            "until it can"
        )
        if self.failure is None:
            self.failure = reason
            logger.error("%s", reason)
            self._halt(reason)
            self.changes.publish("recording.failed", {"reason": reason}, self._sessions())
        return self.failure

    async def state(self, session: str | None = None) -> dict[str, str] | None:
        """The `recording` part of a `watch` state: `{reason}` while writes fail."""
        return {"reason": self.failure} if self.failure is not None else None

    def succeeded(self) -> None:
        """A write went through: if sessions were halted, they get their network back."""
        if self.failure is None:
            return
        self.failure = None
        message = f"recording to {self.database} again: network is back"
        logger.warning("%s", message)
        self._resume()
        self.changes.publish("recording.restored", {"reason": message}, self._sessions())
