"""Pausing the asking: for a while (15 min, 1 h) or until resumed.

While paused, a request that would wait for a person is denied at once and listed (its
batch shows it as answered `paused`), never allowed: a pause is a way to be left alone,
not a way to let things through. Rules and remembered decisions still apply. The pause
lives in the service's memory; a restarted service asks again.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from app.service.changes import Changes
from app.service.server import Request, RequestError, Service
from app.service.server import field as get


class Pause:
    """Whether asking is paused, and until when; ops `pause` and `resume`."""

    def __init__(self, changes: Changes, clock: Callable[[], float] = time.time) -> None:
        self.changes = changes
        self.clock = clock
        self.paused = False
        self.until: float | None = None  # None while paused: until resumed
        self._timer: asyncio.TimerHandle | None = None

    def install(self, service: Service) -> None:
        service.register("pause", self._op_pause)
        service.register("resume", self._op_resume)
        self.changes.provide("paused", self.state)

    def active(self) -> bool:
        """True while paused (a timed pause that has run out is over)."""
        if self.paused and self.until is not None and self.clock() >= self.until:
            self.resume()
        return self.paused

    async def state(self, _session: str | None = None) -> dict[str, Any] | None:
        """`{"until": TS | None}` while paused, else None (the `paused` part of a watch)."""
        return {"until": self.until} if self.active() else None

    def pause(self, seconds: float | None) -> None:
        """Pause for `seconds`, or until resumed when None."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self.paused = True
        self.until = None if seconds is None else self.clock() + seconds
        if seconds is not None:
            self._timer = asyncio.get_running_loop().call_later(seconds, self._ran_out, self.until)
        self.changes.publish("paused", {"until": self.until})

    def _ran_out(self, until: float | None) -> None:
        if self.paused and self.until == until:
            self.resume()

    def resume(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        was = self.paused
        self.paused, self.until = False, None
        if was:
            self.changes.publish("resumed", {})

    async def _op_pause(self, request: Request) -> dict[str, Any]:
        seconds = get(request, "for", (int, float), None)
        if seconds is not None and seconds <= 0:
            raise RequestError("pause: 'for' must be a positive number of seconds")
        self.pause(None if seconds is None else float(seconds))
        return {"until": self.until}

    async def _op_resume(self, _request: Request) -> dict[str, Any]:
        self.resume()
        return {"resumed": True}
