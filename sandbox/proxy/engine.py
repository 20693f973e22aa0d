"""The egress proxy engine: mitmproxy embedded in the service's event loop.

Each session gets its own Unix socket on the host (0600, in a 0700 folder), bound into
that session's sandbox and nowhere else. mitmproxy listens on no TCP port at all: each
connection accepted on a session socket is handed straight to mitmproxy's connection
handler, already attributed to the session whose socket it came in on. A sandboxed
process can reach only its own socket, so it cannot speak as another session, and a
process outside every sandbox has no listening port to try.

Why not the alternatives: mitmproxy cannot listen on a Unix socket, so one listener per
session would still need a relay per session; and a host-side relay into a loopback
listener (attributing by the relay's local port) costs a second copy of every byte —
measured here, that hop alone adds ~0.26 ms per request and caps a download at
~1.2 GB/s — and leaves a TCP port any local process can connect to. Handing the
accepted stream to mitmproxy costs nothing and leaves nothing to forge.

When the service stops (or dies) the sockets go with it: the relay inside the sandbox
has nothing to connect to, and requests waiting for a decision are denied.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import hashlib
import itertools
import logging
import socket
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from mitmproxy import ctx, hooks, options
from mitmproxy.addons import next_layer, proxyserver, tlsconfig
from mitmproxy.connection import Connection
from mitmproxy.master import Master
from mitmproxy.proxy import layers, mode_specs
from mitmproxy.proxy.mode_servers import ProxyConnectionHandler
from mitmproxy.utils import human

from sandbox.proxy.addon import PolicyAddon
from sandbox.proxy.ca import ensure_ca, system_ca_file, write_bundle
from sandbox.proxy.framing import BodyFraming
from sandbox.proxy.heads import Refusal, refusal_bytes
from sandbox.proxy.logins import LoginTokens
from sandbox.proxy.plan import DEFAULT_PORT, NetworkPlan, proxy_env
from sandbox.proxy.session import Ask, OnEvent, SecretBinding, SessionNet

logger = logging.getLogger(__name__)


class NetworkRules(Protocol):
    """What the engine reads of `sandbox.policy.NetworkPolicy`."""

    @property
    def allow(self) -> Sequence[str]: ...
    @property
    def deny(self) -> Sequence[str]: ...
    @property
    def resolve(self) -> Mapping[str, str]: ...
    @property
    def upstream_ca(self) -> Path | None: ...
    @property
    def ask_timeout(self) -> float: ...


class _PeerWriter:
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


class _LargeReads:
    """A StreamReader whose `read(n)` takes up to `READ_SIZE` (at least `n`) at a time.
    Framing is unaffected: `read` returns what is buffered, never waits to fill.

    For a client connection, given its handler's running hooks, it also stops reading
    once `HELD_READ_LIMIT` has been read while hooks ran, until they finish."""

    def __init__(self, reader: Any, hooks: set[asyncio.Task[None]] | None = None) -> None:
        self._reader = reader
        self._hooks = hooks
        self._held = 0  # bytes read since the hooks now running started
        inner = getattr(reader, "_reader", reader)
        if isinstance(inner, asyncio.StreamReader) and getattr(inner, "_limit", 0) < READ_SIZE:
            # The stream stops reading the socket past twice its limit (64 KiB by
            # default for mitmproxy's upstream connections): let a whole read's worth in.
            inner._limit = READ_SIZE  # type: ignore[attr-defined]

    async def read(self, n: int = -1) -> bytes:
        if self._hooks is not None:
            if not self._hooks:
                self._held = 0
            while self._hooks and self._held >= HELD_READ_LIMIT:
                await asyncio.wait(set(self._hooks))
                if not self._hooks:
                    self._held = 0
        data: bytes = await self._reader.read(max(n, READ_SIZE) if n > 0 else n)
        if self._hooks:
            self._held += len(data)
        return data

    def __getattr__(self, name: str) -> Any:
        return getattr(self._reader, name)


# glibc's allocator, left to itself, handed each 256 KiB buffer of a download back to the
# kernel and faulted fresh pages in for the next: asyncio's transport allocates 256 KiB
# for every recv, above malloc's first mmap threshold, and the heap top is trimmed as soon
# as 2 such buffers are free. Page faults were then a quarter of the proxy's CPU on a
# passed-through tunnel. Fixed thresholds keep these buffers on the heap and reused.
MMAP_THRESHOLD = 1 << 20  # mallocs at least this large get their own mapping
TRIM_THRESHOLD = 16 << 20  # free memory at the heap top kept for reuse, at most
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # mallopt(3) parameters in glibc


def tune_allocator() -> bool:
    """Set glibc's malloc thresholds for streaming (process-wide, idempotent). True if set;
    False elsewhere (macOS, musl), where nothing needs it or nothing can be done."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    # mallopt returns 1 on success; both or neither (one alone stops glibc adapting).
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(
        mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)
    )


class _Handler(ProxyConnectionHandler):
    """mitmproxy's handler for one client connection, reading in larger chunks from both
    the client and the servers it connects to, and not reading the client past
    `HELD_READ_LIMIT` while its hooks run. Nothing else changes."""

    async def handle_connection(self, connection: Connection) -> None:
        io = self.transports[connection]
        if io.reader is not None:
            hooks = self.hook_tasks if connection is self.client else None
            io.reader = _LargeReads(io.reader, hooks)  # type: ignore[assignment]
        await super().handle_connection(connection)


class _Prefixed:
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


SOCKS5 = 0x05
# Connections one session may hold open at once; past it a new one is refused.
MAX_CONNECTIONS = 512


class _Listener:
    def __init__(
        self, session: SessionNet, path: Path, server: asyncio.Server, bundle: Path
    ) -> None:
        self.session = session
        self.path = path
        self.server = server
        self.bundle = bundle
        self.writers: set[asyncio.StreamWriter] = set()


class EgressProxy:
    """One per service. `start()`, then `open_session()` per sandbox, `stop()` at the end."""

    def __init__(
        self,
        data_dir: Path,
        runtime_dir: Path,
        port: int = DEFAULT_PORT,
        body_size_limit: str = "64m",
    ) -> None:
        self.ca_dir = data_dir / "proxy-ca"
        self.folder = runtime_dir / "proxy"
        self.port = port
        self.body_size_limit = body_size_limit
        self.ca_bundle = self.folder / "ca-bundle.pem"
        self._upstream_bundle = self.folder / "upstream-ca.pem"
        self._upstream_extra: list[Path] = []
        self._listeners: dict[str, _Listener] = {}
        self._peer_ports = itertools.count(1)
        self._mode = mode_specs.ProxyMode.parse("regular")
        self._socks_mode = mode_specs.ProxyMode.parse("socks5")
        self._master: Master | None = None
        self._proxyserver = proxyserver.Proxyserver()  # type: ignore[no-untyped-call]
        self.addon = PolicyAddon(request_limit=human.parse_size(body_size_limit) or 0)

    async def start(self) -> None:
        """Make the CA on first start, write the bundles, and bring mitmproxy up (no listeners)."""
        ca_cert = ensure_ca(self.ca_dir)
        tune_allocator()
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.folder.chmod(0o700)
        system = system_ca_file()
        write_bundle(self.ca_bundle, [system, ca_cert])
        write_bundle(self._upstream_bundle, [system])
        opts = options.Options(confdir=str(self.ca_dir), mode=[])
        # mitmproxy logs every connection at INFO; Sandgate records events itself.
        logging.getLogger("mitmproxy").setLevel(logging.WARNING)
        master = Master(opts)
        _keep_root_logging_ours()
        master.addons.add(  # type: ignore[no-untyped-call]
            self._proxyserver,
            next_layer.NextLayer(),
            tlsconfig.TlsConfig(),
            self.addon,
            BodyFraming(),  # after the policy: only what it lets through is framed
        )
        opts.update(  # type: ignore[no-untyped-call]
            connection_strategy="lazy",  # connect upstream only once a request is allowed
            ssl_insecure=False,
            ssl_verify_upstream_trusted_ca=str(self._upstream_bundle),
            # No global limit: mitmproxy checks it on response headers too, so it would cut
            # downloads. Request bodies are limited as they arrive, declared size or not
            # (sandbox.proxy.limits, put in place by the addon); responses stream.
            body_size_limit=None,
            stream_large_bodies=None,
            http3=False,
        )
        await master.addons.trigger_event(hooks.RunningHook())  # type: ignore[no-untyped-call]
        self._master = master

    async def open_session(
        self,
        session_id: str,
        network: NetworkRules,
        credentials: Sequence[SecretBinding],
        canaries: Sequence[str] | Callable[[], Sequence[str]],
        on_event: OnEvent,
        ask: Ask,
        logins: LoginTokens | None = None,
    ) -> NetworkPlan:
        """Listen on the session's socket and return what the sandbox needs to use it.

        `canaries` may be a callable, asked again on each request, for canaries that
        exist only once the sandbox's decoys are written. `logins` are the agent's own
        login tokens, bound to their vendors' endpoints (`sandbox.proxy.logins`).

        Raises `rules.RuleError` for a rule it cannot understand, before listening.
        """
        if self._master is None:
            raise RuntimeError("EgressProxy.start() has not been called")
        if session_id in self._listeners:
            raise ValueError(f"session {session_id!r} is already open")
        session = SessionNet.build(
            session_id,
            allow=network.allow,
            deny=network.deny,
            resolve=network.resolve,
            ask_timeout=network.ask_timeout,
            bindings=credentials,
            canaries=canaries,
            on_event=on_event,
            ask=ask,
            logins=logins,
        )
        # Unix socket paths are short (108 bytes): name the files by a digest of the id.
        digest = hashlib.sha256(session_id.encode()).hexdigest()[:16]
        path = self.folder / f"s-{digest}.sock"
        bundle = self.ca_bundle
        if network.upstream_ca is not None:
            upstream_ca = Path(network.upstream_ca).expanduser()
            self._trust_upstream(upstream_ca)
            # Inside, tunnels to allowed hosts are not re-signed: clients meet the upstream
            # certificates themselves, so they need the extra CA too.
            bundle = write_bundle(self.folder / f"s-{digest}-ca.pem", [self.ca_bundle, upstream_ca])
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        listener: _Listener | None = None

        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            assert listener is not None
            await self._serve(listener, reader, writer)

        server = await asyncio.start_unix_server(serve, path=str(path), limit=READ_SIZE)
        path.chmod(0o600)
        listener = _Listener(session, path, server, bundle)
        self._listeners[session_id] = listener
        secrets = {b.env: b.placeholder for b in credentials if b.env}
        return NetworkPlan(
            host_socket=path,
            port=self.port,
            env=proxy_env(self.port) | secrets,
            ca_bundle=bundle,
            placeholders=tuple(secrets),
        )

    async def close_session(self, session_id: str) -> None:
        """Stop listening, deny what waits, and cut the session's open connections."""
        listener = self._listeners.pop(session_id, None)
        if listener is None:
            return
        listener.session.closed.set()
        listener.server.close()
        with contextlib.suppress(FileNotFoundError):
            listener.path.unlink()
        if listener.bundle != self.ca_bundle:
            listener.bundle.unlink(missing_ok=True)
        # Let held requests deliver their refusal before their connections are cut. Only
        # then is a grace period worth paying: a session whose agent has already exited
        # (the common close) has nothing in flight, and `sandgate run` waits on this.
        if listener.session.waiting:
            for _ in range(100):
                if listener.session.waiting == 0:
                    break
                await asyncio.sleep(0.01)
            await asyncio.sleep(0.05)
        for writer in list(listener.writers):
            writer.close()
        await asyncio.sleep(0)

    async def stop(self) -> None:
        """Close every session and shut mitmproxy's addons down."""
        for session_id in list(self._listeners):
            await self.close_session(session_id)
        if self._master is not None:
            await self._master.addons.trigger_event(hooks.DoneHook())  # type: ignore[no-untyped-call]
            self._master = None

    def session_ids(self) -> list[str]:
        return list(self._listeners)

    def _trust_upstream(self, ca_file: Path) -> None:
        # mitmproxy verifies upstream against one bundle for all connections, so the
        # user's extra CAs (from the user's own policy: a workspace policy cannot add
        # one) join a shared upstream bundle.
        if ca_file in self._upstream_extra:
            return
        self._upstream_extra.append(ca_file)
        # mitmproxy caches TLS contexts by bundle path, so each new bundle gets a new name.
        self._upstream_bundle = self.folder / f"upstream-ca-{len(self._upstream_extra)}.pem"
        write_bundle(self._upstream_bundle, [system_ca_file(), *self._upstream_extra])
        assert self._master is not None
        self._master.options.update(ssl_verify_upstream_trusted_ca=str(self._upstream_bundle))  # type: ignore[no-untyped-call]

    async def _serve(
        self, listener: _Listener, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
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
        self, listener: _Listener, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        assert self._master is not None
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
        handler = _Handler(  # type: ignore[no-untyped-call]
            self._master,
            _Prefixed(first, reader),
            _PeerWriter(writer, peer),
            self._master.options,
            self._socks_mode if socks else self._mode,
        )
        context = handler.layer.context
        handler.layer = (
            layers.modes.Socks5Proxy(context) if socks else layers.modes.HttpProxy(context)
        )
        client_id = context.client.id
        self.addon.attach(client_id, listener.session, socks=socks)
        try:
            with self._proxyserver.register_connection(client_id, handler):
                await handler.handle_client()
        except Exception:
            logger.exception("proxy connection handler failed")
        finally:
            self.addon.detach(client_id)


def _keep_root_logging_ours() -> None:
    """Move the log handler mitmproxy's Master puts on the root logger onto mitmproxy's
    own logger. On the root it would count as "logging configured", so Python's last
    resort handler would stay silent and every later Sandgate warning and error would
    be swallowed."""
    root = logging.getLogger()
    mitm = logging.getLogger("mitmproxy")
    for handler in list(root.handlers):
        if type(handler).__module__.startswith("mitmproxy"):
            root.removeHandler(handler)
            mitm.addHandler(handler)
