"""One session cannot use up the service's descriptors: its connections are capped (idle
ones included), a connection past the cap is refused with the reason, and the service
raises its own open-file limit at start."""

from __future__ import annotations

import socket
import subprocess
import sys
import time

import pytest

from sandbox.proxy import listeners as listeners_module
from tests.proxy.conftest import Net, ProxySession, ProxyThread, Servers


def _unix(path: str) -> socket.socket:
    """A connection straight to the session's socket, as the relay inside makes them."""
    conn = socket.socket(socket.AF_UNIX)
    conn.settimeout(10)
    conn.connect(path)
    return conn


def test_connections_past_the_cap_are_refused_and_the_rest_keep_working(
    open_session, engine: ProxyThread, servers: Servers, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(listeners_module, "MAX_CONNECTIONS", 12)
    # No relay: its readiness probe would hold a connection of its own, at a moment the
    # test cannot see, and take one of the twelve places.
    session: ProxySession = open_session(
        Net(allow=(f"127.0.0.1:{servers.http.port}",)), relay=False
    )
    path = str(session.plan.host_socket)
    open_now = engine.proxy._listeners[session.id].writers
    assert not open_now
    idle = []
    try:
        for _ in range(12):  # idle: they never send a byte
            idle.append(_unix(path))
        deadline = time.monotonic() + 30  # a loaded machine's loop may be slow to accept
        while len(open_now) < 12 and time.monotonic() < deadline:
            time.sleep(0.02)  # the proxy's loop has taken each one in
        assert len(open_now) == 12
        with _unix(path) as extra:
            reply = extra.makefile("rb").read()
        assert reply.startswith(b"HTTP/1.1 503 "), reply[:200]
        assert b"X-Sandgate-Reason: this session already has 12 connections open" in reply
    finally:
        for conn in idle:
            conn.close()
    deadline = time.monotonic() + 30
    while open_now and time.monotonic() < deadline:
        time.sleep(0.02)  # closed connections leave the count
    with _unix(path) as again:  # and a new one is served
        again.sendall(
            f"GET http://127.0.0.1:{servers.http.port}/after-the-cap HTTP/1.1\r\n"
            f"Host: 127.0.0.1:{servers.http.port}\r\nConnection: close\r\n\r\n".encode()
        )
        answer = again.makefile("rb").read()
    assert answer.startswith(b"HTTP/1.1 200"), answer[:200]
    assert "/after-the-cap" in servers.http.paths()


def test_the_service_raises_its_open_file_limit() -> None:
    probe = (
        "import resource\n"
        "soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)\n"
        "resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))\n"
        "from app.service.runtime import raise_open_file_limit\n"
        "print(raise_open_file_limit(), resource.getrlimit(resource.RLIMIT_NOFILE)[0], hard)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    returned, now, hard = (int(x) for x in done.stdout.split())
    assert returned == now == min(65536, hard) and now > 256
