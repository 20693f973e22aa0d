"""Fixtures for the egress proxy: a test CA, HTTP and HTTPS servers on loopback that
record what reaches them, and the real proxy engine on its own event loop.

Nothing leaves the machine: every name the tests use is mapped to 127.0.0.1 through
the policy's `resolve` section, and the servers listen on 127.0.0.1 only.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import os
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from app.service.queue import DecisionQueue
from sandbox.proxy.engine import EgressProxy
from sandbox.proxy.logins import LoginTokens
from sandbox.proxy.plan import NetworkPlan
from sandbox.proxy.session import Answer, Outcome, SecretBinding
from tests.proxy.loopback import (  # noqa: F401  (tests import them from here)
    NAMES,
    RecordingServer,
    Seen,
    Servers,
    TestPKI,
    make_pki,
)


@pytest.fixture(scope="session")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    pki = make_pki(tmp_path_factory.mktemp("pki"))
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(pki.cert_pem, pki.key_pem)
    plain, secure = RecordingServer(), RecordingServer(tls)
    for server in (plain, secure):
        threading.Thread(target=server.serve_forever, daemon=True).start()
    yield Servers(plain, secure, pki)
    for server in (plain, secure):
        server.shutdown()
        server.server_close()


# --- the proxy engine on its own loop ----------------------------------------------------


class ProxyThread:
    """The real `EgressProxy`, on an event loop in a thread, driven from blocking tests."""

    def __init__(
        self, folder: Path, body_size_limit: str = "64m", session_budget: str = "256m"
    ) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.proxy = EgressProxy(
            folder / "data",
            folder / "run",
            body_size_limit=body_size_limit,
            session_budget=session_budget,
        )
        self.call(self.proxy.start())
        self.queue = DecisionQueue()

    def call(self, coro: Any, timeout: float = 30) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def decide(self, batch: str, decision: str, scope: str = "once", **kw: Any) -> int:
        """Decide a batch on the loop, as the service's `decide` operation does."""

        async def decide() -> int:
            return self.queue.decide(batch, decision, scope, **kw)

        return int(self.call(decide()))

    def pending(self) -> list[dict[str, Any]]:
        return [b for b in self.queue.listing() if b["state"] == "pending"]

    def stop(self) -> None:
        self.call(self.proxy.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


@pytest.fixture(scope="session")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProxyThread]:
    runner = ProxyThread(tmp_path_factory.mktemp("engine"))
    yield runner
    runner.stop()


@dataclass
class Net:
    """Shaped like `sandbox.policy.NetworkPolicy`."""

    allow: tuple[str, ...] = ()
    deny: tuple[str, ...] = ()
    resolve: dict[str, str] = field(default_factory=lambda: {n: "127.0.0.1" for n in NAMES})
    upstream_ca: Path | None = None
    ask_timeout: float = 2.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class ProxySession:
    id: str
    plan: NetworkPlan
    port: int
    events: list[tuple[dict[str, Any], Outcome]]
    bundle: Path  # system CAs + Sandgate's CA + the test upstream CA, for clients
    relay: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in self.plan.env.items()}
        for key in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
            env[key] = self.url
        for key in ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "GIT_SSL_CAINFO", "CURL_CA_BUNDLE"):
            env[key] = str(self.bundle)
        env["NODE_EXTRA_CA_CERTS"] = str(self.bundle)
        return env

    def outcomes(self, kind: str | None = None) -> list[Outcome]:
        return [o for e, o in self.events if kind is None or e["kind"] == kind]

    def wait_events(self, count: int, timeout: float = 5) -> None:
        deadline = time.monotonic() + timeout
        while len(self.events) < count and time.monotonic() < deadline:
            time.sleep(0.01)


AskPolicy = Callable[[dict[str, Any]], Any]


@pytest.fixture
def open_session(
    engine: ProxyThread, servers: Servers, tmp_path: Path
) -> Iterator[Callable[..., ProxySession]]:
    """Open a proxy session with a socat relay on a loopback port, like the one inside."""
    opened: list[ProxySession] = []

    def opener(
        net: Net | None = None,
        *,
        credentials: tuple[SecretBinding, ...] = (),
        canaries: tuple[str, ...] = (),
        ask: AskPolicy | None = None,
        relay: bool = True,
        logins: LoginTokens | None = None,
    ) -> ProxySession:
        net = net or Net()
        if net.upstream_ca is None:
            net.upstream_ca = servers.pki.ca_pem
        session_id = f"t{len(opened)}-{tmp_path.name[-12:]}"
        events: list[tuple[dict[str, Any], Outcome]] = []

        def on_event(event: dict[str, Any], outcome: Outcome) -> None:
            events.append((event, outcome))

        async def asker(event: dict[str, Any]) -> Answer:
            if ask is not None:
                answer = ask(event)
                return await answer if inspect.isawaitable(answer) else answer
            verdict = {"signature": None, "band": "medium", "score": 30, "reasons": []}
            return await engine.queue.ask(
                session_id, str(tmp_path), event, verdict, net.ask_timeout
            )

        plan = engine.call(
            engine.proxy.open_session(
                session_id, net, credentials, canaries, on_event, asker, logins=logins
            )
        )
        bundle = tmp_path / f"{session_id}-bundle.pem"
        bundle.write_text(Path(plan.ca_bundle).read_text() + servers.pki.ca_pem.read_text())
        session = ProxySession(session_id, plan, free_port(), events, bundle)
        if relay:
            session.relay = subprocess.Popen(
                [
                    "socat",
                    f"TCP-LISTEN:{session.port},bind=127.0.0.1,fork,reuseaddr,nodelay,backlog=256",
                    f"UNIX-CONNECT:{plan.host_socket}",
                ]
            )
            _wait_listening(session.port)
        opened.append(session)
        return session

    yield opener
    for session in opened:
        if session.relay is not None:
            session.relay.terminate()
            session.relay.wait(5)
        engine.call(engine.proxy.close_session(session.id))


def _wait_listening(port: int, timeout: float = 5) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.01)
    raise RuntimeError(f"nothing listens on {port}")


def curl(
    session: ProxySession, *args: str, timeout: float = 15
) -> subprocess.CompletedProcess[str]:
    """Run curl through the session's relay, with the session's CA bundle."""
    return subprocess.run(
        ["curl", "-sS", "--max-time", str(timeout), "-x", session.url,
         "--cacert", str(session.bundle), *args],
        capture_output=True,
        text=True,
        timeout=timeout + 5,
    )  # fmt: skip


def have(program: str) -> bool:
    return shutil.which(program) is not None


def serve_git_repository(servers: Servers, folder: Path, name: str, text: str) -> None:
    """Make a one-commit repository holding `name` with `text`, and let the HTTPS test
    server serve it at /repo.git (git's dumb HTTP protocol)."""
    source = folder / "src"
    subprocess.run(["git", "init", "-q", "-b", "main", str(source)], check=True)
    (source / name).write_text(text)
    git = ["git", "-C", str(source), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "add", name], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "one"], check=True)
    bare = folder / "repo.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(source), str(bare)], check=True)
    subprocess.run(["git", "-C", str(bare), "update-server-info"], check=True)
    servers.https.git_root = bare


# --- the whole service, and the commands against it -------------------------------------


@contextlib.contextmanager
def serving(policy: str) -> Iterator[Any]:
    """The real service in a thread with `policy` as the user's policy (the environment's
    paths: use it with `short_runtime`, since session sockets must fit AF_UNIX)."""
    from app.paths import Paths
    from app.service.runtime import start_in_thread

    paths = Paths.from_environment().ensure()
    paths.user_policy.write_text(policy)
    thread = start_in_thread(paths)
    try:
        yield thread
    finally:
        thread.stop()


def sandgate(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """`sandgate ARGS` as a user types it, with this test's environment (and `env`)."""
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        cwd=cwd, env={**os.environ, **(env or {})}, capture_output=True, text=True,
        timeout=timeout,
    )  # fmt: skip
