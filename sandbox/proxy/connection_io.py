"""How mitmproxy reads and writes one accepted connection: in large chunks, not past a
bound while hooks run, with a peer name a Unix socket lacks.

Each class wraps an asyncio stream and changes one thing; everything else passes through.
"""

from __future__ import annotations

import asyncio
from typing import Any

from mitmproxy.connection import Connection
from mitmproxy.proxy.mode_servers import ProxyConnectionHandler

from sandbox.proxy.budget import BodyBudget

# How much mitmproxy takes from a connection at a time. Its own loop asks for 64 KiB, and
# every chunk then walks the whole layer stack (HTTP/1 framing, the tunnel, the writer):
# on a large download that per-chunk Python work, not copying bytes, was a third of the
# proxy's CPU. 256 KiB is what asyncio's transport takes from the socket in one recv,
# and still fits the CPU's cache (1 MiB reads measured slower than 256 KiB).
READ_SIZE = 256 * 1024
# The session socket's send buffer. The default (~208 KiB) is smaller than one read, so
# every chunk of a download was a partial send, the rest copied into asyncio's buffer and
# sent on a second wake-up. The kernel doubles this and caps it at net.core.wmem_max
# (on default settings: 416 KiB, still room for a whole read).
SEND_BUFFER = 2 * READ_SIZE
# While a hook runs for a connection (a request held for a person's decision, a name being
# resolved), mitmproxy keeps reading the client and queues what arrives, with no limit: a
# client could send gigabytes behind a held request. Past this much read during hooks, the
# client is not read until they are done, and TCP leaves the rest waiting in the client.
HELD_READ_LIMIT = 4 * READ_SIZE


class PeerWriter:
    """A StreamWriter that reports a loopback peer: mitmproxy expects an IP peer name,
    and a Unix socket has none. The peer name is only used in mitmproxy's logs."""

    def __init__(self, writer: asyncio.StreamWriter, peer: tuple[str, int]) -> None:
        self._writer = writer
        self._peer = peer

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        if name in ("peername", "sockname"):
            return self._peer
        return self._writer.get_extra_info(name, default)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._writer, name)


class LargeReads:
    """A StreamReader whose `read(n)` takes up to `READ_SIZE` (at least `n`) at a time.
    Framing is unaffected: `read` returns what is buffered, never waits to fill.

    For a client connection, given its handler's running hooks, it also stops reading
    once `HELD_READ_LIMIT` has been read while hooks ran, or while its session's body
    budget is spent, until they finish: what arrives meanwhile waits in mitmproxy's
    queues (charged to the budget by `sandbox.proxy.limits`), so TCP keeps the rest in
    the client."""

    def __init__(
        self,
        reader: Any,
        hooks: set[asyncio.Task[None]] | None = None,
        budget: BodyBudget | None = None,
    ) -> None:
        self._reader = reader
        self._hooks = hooks
        self._budget = budget
        self._held = 0  # bytes read since the hooks now running started
        inner = getattr(reader, "_reader", reader)
        if isinstance(inner, asyncio.StreamReader) and getattr(inner, "_limit", 0) < READ_SIZE:
            # The stream stops reading the socket past twice its limit (64 KiB by
            # default for mitmproxy's upstream connections): let a whole read's worth in.
            inner._limit = READ_SIZE  # type: ignore[attr-defined]

    def _must_wait(self) -> bool:
        if not self._hooks:
            return False
        spent = self._budget is not None and self._budget.held >= self._budget.limit
        return spent or self._held >= HELD_READ_LIMIT

    async def read(self, n: int = -1) -> bytes:
        if self._hooks is not None:
            if not self._hooks:
                self._held = 0
            while self._must_wait():
                await asyncio.wait(set(self._hooks))
                if not self._hooks:
                    self._held = 0
        data: bytes = await self._reader.read(max(n, READ_SIZE) if n > 0 else n)
        if self._hooks:
            self._held += len(data)
        return data

    def __getattr__(self, name: str) -> Any:
        return getattr(self._reader, name)


class Prefixed:
    """A StreamReader that first returns bytes already read (the peeked protocol byte)."""

    def __init__(self, first: bytes, reader: asyncio.StreamReader) -> None:
        self._first = first
        self._reader = reader

    async def read(self, n: int = -1) -> bytes:
        if self._first:
            first, self._first = self._first, b""
            return first
        return await self._reader.read(n)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._reader, name)


class Handler(ProxyConnectionHandler):
    """mitmproxy's handler for one client connection, reading in larger chunks from both
    the client and the servers it connects to, and not reading the client past
    `HELD_READ_LIMIT` (or its session's budget) while its hooks run. Nothing else changes."""

    budget: BodyBudget | None = None  # the session's, set before the connection is handled

    async def handle_connection(self, connection: Connection) -> None:
        io = self.transports[connection]
        if io.reader is not None:
            if connection is self.client:
                reader = LargeReads(io.reader, self.hook_tasks, self.budget)
            else:
                reader = LargeReads(io.reader)
            io.reader = reader  # type: ignore[assignment]
        await super().handle_connection(connection)
