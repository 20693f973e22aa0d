"""The change stream: what the service tells watchers (the tray, `sandgate queue --follow`,
`sandgate run`'s waiting lines) as it happens, so they never poll.

Parts of the service `publish(name, fields, sessions)` a change; each gets the next
`seq`. A `watch` request registers a watcher and answers with the whole state (built
by the providers each part adds with `provide`), then the connection carries one JSON
line per change. Each watcher has a bounded buffer filled without waiting: one that
falls too far behind is dropped (its connection closed) and reconnects with a fresh
`watch`, so a slow reader can never stall the service.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from app.service.server import Request, Service, current_connection
from app.service.server import field as get

log = logging.getLogger(__name__)

BUFFER = 1000  # changes a watcher may be behind before it is dropped

# A part of the state: (session filter or None) -> JSON-able value.
Provider = Callable[[str | None], Awaitable[Any]]


@dataclass(eq=False)  # each watcher is itself, kept in a set
class Watcher:
    """One watching connection: its filter and its bounded buffer of encoded lines."""

    session: str | None
    lines: asyncio.Queue[bytes | None] = field(default_factory=lambda: asyncio.Queue(BUFFER))
    dropped: bool = False
    abort: Callable[[], None] | None = None  # cuts the connection (set while streaming)

    def offer(self, line: bytes) -> None:
        """Buffer `line` without waiting; a full buffer drops the watcher."""
        if self.dropped:
            return
        try:
            self.lines.put_nowait(line)
        except asyncio.QueueFull:
            self.dropped = True
            # Room for the end mark: the oldest line goes, the stream ends here anyway.
            with contextlib.suppress(asyncio.QueueEmpty):
                self.lines.get_nowait()
            self.lines.put_nowait(None)
            if self.abort is not None:  # a writer stuck on a reader that does not read
                self.abort()


class Changes:
    """The publisher of changes and the `watch` operation."""

    def __init__(self) -> None:
        # Names this run of the service: a batch that was waiting, unrecorded, when an
        # earlier run died may see its number again, and a decision made on what that run
        # showed must not land on the new batch.
        self.instance = secrets.token_hex(6)
        self.seq = 0
        self.watchers: set[Watcher] = set()
        self._providers: dict[str, Provider] = {}

    def provide(self, name: str, provider: Provider) -> None:
        """Add `name` to the state a `watch` answers with. Providers that only read
        memory must not await, so that their part is exact at the reply's `seq`."""
        self._providers[name] = provider

    def publish(self, name: str, fields: dict[str, Any], sessions: Iterable[str] = ()) -> int:
        """Send change `name` to every watcher; `sessions` are the sessions it concerns
        (a watcher filtered on a session sees only changes naming it). Returns its seq."""
        self.seq += 1
        if not self.watchers:
            return self.seq
        concerned = set(sessions)
        line = json.dumps({"change": name, "seq": self.seq, **fields}, separators=(",", ":"))
        encoded = line.encode() + b"\n"
        for watcher in list(self.watchers):
            if watcher.session is None or watcher.session in concerned:
                watcher.offer(encoded)
        return self.seq

    def install(self, service: Service) -> None:
        service.register("watch", self._op_watch)

    async def state(self, session: str | None) -> dict[str, Any]:
        """The whole state as the providers see it now."""
        return {name: await provider(session) for name, provider in self._providers.items()}

    async def _op_watch(self, request: Request) -> dict[str, Any]:
        session = get(request, "session", str, None)
        connection = current_connection.get(None)
        if connection is None:
            raise RuntimeError("watch needs a connection")
        watcher = Watcher(session)
        # Registered before the state is read: a change made meanwhile is delivered
        # after the reply (and may already show in the state; items are keyed by id,
        # so applying it again changes nothing).
        self.watchers.add(watcher)
        seq = self.seq
        try:
            state = await self.state(session)
        except BaseException:
            self.watchers.discard(watcher)
            raise
        connection.stream(lambda writer: self._pump(watcher, writer))
        return {"seq": seq, "instance": self.instance, "state": state}

    async def _pump(self, watcher: Watcher, writer: asyncio.StreamWriter) -> None:
        """Write the watcher's lines until it is dropped or its connection ends."""
        watcher.abort = writer.transport.abort
        try:
            while True:
                line = await watcher.lines.get()
                if line is None:
                    log.info("a watcher fell %d changes behind and was dropped", BUFFER)
                    return
                writer.write(line)
                await writer.drain()
        finally:
            self.watchers.discard(watcher)
