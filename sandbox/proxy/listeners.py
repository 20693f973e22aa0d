"""A session's socket and the connections accepted on it, handed to mitmproxy already
attributed to that session.

One port speaks both HTTP proxy and SOCKS5 (told apart by the first byte), and one
session may hold at most `MAX_CONNECTIONS` open at once, so that one sandbox cannot use
up the service's descriptors (its control socket shares them).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import socket
from pathlib import Path

from mitmproxy import ctx
from mitmproxy.addons import proxyserver
from mitmproxy.master import Master
from mitmproxy.proxy import layers, mode_specs

from sandbox.proxy.addon import PolicyAddon
from sandbox.proxy.connection_io import SEND_BUFFER, Handler, PeerWriter, Prefixed
from sandbox.proxy.heads import Refusal, refusal_bytes
from sandbox.proxy.session import SessionNet

logger = logging.getLogger(__name__)

SOCKS5 = 0x05
# Connections one session may hold open at once; past it a new one is refused.
MAX_CONNECTIONS = 512


class Listener:
    """One session's socket: its server, its CA bundle and its open connections."""

    def __init__(
        self, session: SessionNet, path: Path, server: asyncio.Server, bundle: Path
    ) -> None:
        self.session = session
        self.path = path
        self.server = server
        self.bundle = bundle
        self.writers: set[asyncio.StreamWriter] = set()
        self.clients: dict[str, asyncio.StreamWriter] = {}  # mitmproxy's client id → its socket


class Intake:
    """Takes each connection accepted on a session's socket into mitmproxy."""

    def __init__(self, master: Master, server: proxyserver.Proxyserver, addon: PolicyAddon) -> None:
        self._master = master
        self._proxyserver = server
        self._addon = addon
        self._peer_ports = itertools.count(1)
        self._mode = mode_specs.ProxyMode.parse("regular")
        self._socks_mode = mode_specs.ProxyMode.parse("socks5")

    async def serve(
        self, listener: Listener, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        """Serve one accepted connection, or refuse it past the session's cap."""
        if len(listener.writers) >= MAX_CONNECTIONS:
            # One sandbox holding thousands of idle connections must not use up the
            # service's descriptors (its control socket shares them).
            reason = f"this session already has {MAX_CONNECTIONS} connections open"
            writer.write(refusal_bytes(Refusal(503, reason)))
            with contextlib.suppress(ConnectionError):
                await writer.drain()
            writer.close()
            return
        listener.writers.add(writer)
        try:
            await self._handle(listener, reader, writer)
        finally:
            listener.writers.discard(writer)
            if not writer.is_closing():
                writer.close()

    async def _handle(
        self, listener: Listener, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        # One port speaks both HTTP proxy and SOCKS5: a SOCKS5 greeting starts with 0x05,
        # which no HTTP request line does.
        try:
            first = await reader.readexactly(1)
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()
            return
        socks = first[0] == SOCKS5
        sock = writer.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER)
        # mitmproxy's addons read one process-wide context; this engine is the one serving.
        ctx.master, ctx.options = self._master, self._master.options
        peer = ("127.0.0.1", next(self._peer_ports) % 65535 + 1)
        handler = Handler(  # type: ignore[no-untyped-call]
            self._master,
            Prefixed(first, reader),
            PeerWriter(writer, peer),
            self._master.options,
            self._socks_mode if socks else self._mode,
        )
        handler.budget = listener.session.budget
        context = handler.layer.context
        handler.layer = (
            layers.modes.Socks5Proxy(context) if socks else layers.modes.HttpProxy(context)
        )
        client_id = context.client.id
        self._addon.attach(client_id, listener.session, socks=socks)
        listener.clients[client_id] = writer
        try:
            with self._proxyserver.register_connection(client_id, handler):
                await handler.handle_client()
        except Exception:
            logger.exception("proxy connection handler failed")
        finally:
            listener.clients.pop(client_id, None)
            self._addon.detach(client_id)
