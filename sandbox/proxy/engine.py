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
import hashlib
import logging
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Protocol

from mitmproxy import hooks
from mitmproxy.addons import proxyserver
from mitmproxy.master import Master
from mitmproxy.utils import human

from sandbox.proxy.addon import PolicyAddon
from sandbox.proxy.allocator import tune_allocator
from sandbox.proxy.ca import ensure_ca, system_ca_file, write_bundle
from sandbox.proxy.connection_io import READ_SIZE
from sandbox.proxy.listeners import Intake, Listener
from sandbox.proxy.logins import LoginTokens
from sandbox.proxy.master import build_master
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


class EgressProxy:
    """One per service. `start()`, then `open_session()` per sandbox, `stop()` at the end."""

    def __init__(
        self,
        data_dir: Path,
        runtime_dir: Path,
        port: int = DEFAULT_PORT,
        body_size_limit: str = "64m",
        session_budget: str = "256m",
    ) -> None:
        """`body_size_limit` bounds one request body; `session_budget` the bodies one
        session's connections and streams hold at once (at least the former)."""
        self.ca_dir = data_dir / "proxy-ca"
        self.folder = runtime_dir / "proxy"
        self.port = port
        self.body_size_limit = body_size_limit
        self.ca_bundle = self.folder / "ca-bundle.pem"
        self._upstream_bundle = self.folder / "upstream-ca.pem"
        self._upstream_extra: list[Path] = []
        self._listeners: dict[str, Listener] = {}
        self._master: Master | None = None
        self._intake: Intake | None = None
        self._halted: str | None = None  # why no session gets network now (see `halt`)
        self._proxyserver = proxyserver.Proxyserver()  # type: ignore[no-untyped-call]
        request_limit = human.parse_size(body_size_limit) or 0
        self.session_budget = human.parse_size(session_budget) or 0
        if self.session_budget < request_limit:
            raise ValueError(f"session budget {session_budget} is below the body limit")
        self.addon = PolicyAddon(request_limit=request_limit)

    async def start(self) -> None:
        """Make the CA on first start, write the bundles, and bring mitmproxy up (no listeners)."""
        ca_cert = ensure_ca(self.ca_dir)
        tune_allocator()
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.folder.chmod(0o700)
        system = system_ca_file()
        write_bundle(self.ca_bundle, [system, ca_cert])
        write_bundle(self._upstream_bundle, [system])
        master = build_master(self.ca_dir, self._proxyserver, self.addon, self._upstream_bundle)
        await master.addons.trigger_event(hooks.RunningHook())  # type: ignore[no-untyped-call]
        self._master = master
        self._intake = Intake(master, self._proxyserver, self.addon)

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
        if self._intake is None:
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
            budget=self.session_budget,
        )
        session.halted = self._halted
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
        listener: Listener | None = None
        intake = self._intake

        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            assert listener is not None
            await intake.serve(listener, reader, writer)

        server = await asyncio.start_unix_server(serve, path=str(path), limit=READ_SIZE)
        path.chmod(0o600)
        listener = Listener(session, path, server, bundle)
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
            self._intake = None

    def session_ids(self) -> list[str]:
        return list(self._listeners)

    def halt(self, reason: str) -> None:
        """No network for any session, new or open, until `resume()`: every request and
        tunnel is refused with `reason`, and tunnels passed through untouched (whose
        traffic no later decision would see) are cut."""
        self._halted = reason
        for listener in self._listeners.values():
            listener.session.halted = reason
            for client_id, writer in list(listener.clients.items()):
                if self.addon.is_opaque(client_id):
                    writer.close()

    def resume(self) -> None:
        """Sessions get their network back (the service can record them again)."""
        self._halted = None
        for listener in self._listeners.values():
            listener.session.halted = None

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
