"""Request heads are limited before anything is forwarded: size, header count, line
length, time to the blank line, and no control characters or folded lines in headers.
Each refusal is an HTTP answer with Sandgate's reason, and the proxy keeps serving."""

from __future__ import annotations

import contextlib
import os
import resource
import socket
import time

import pytest

from sandbox.proxy import heads
from tests.proxy.conftest import Net, ProxySession, Servers, curl


@pytest.fixture
def session(open_session, servers: Servers) -> ProxySession:
    return open_session(
        Net(allow=("api.example.test", f"127.0.0.1:{servers.http.port}"), ask_timeout=0.5)
    )


def _send(session: ProxySession, data: bytes, timeout: float = 10) -> bytes:
    """Send `data` (as far as the proxy lets it in) and read the answer to the end."""
    with socket.create_connection(("127.0.0.1", session.port), timeout=timeout) as s:
        # Refused part-way through sending: the answer is already waiting.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            s.sendall(data)
        chunks = []
        try:
            while chunk := s.recv(65536):
                chunks.append(chunk)
        except (ConnectionResetError, TimeoutError):
            pass
        return b"".join(chunks)


def _request(servers: Servers, path: str, headers: str = "", line_extra: str = "") -> bytes:
    port = servers.http.port
    return (
        f"GET http://api.example.test:{port}{path}{line_extra} HTTP/1.1\r\n"
        f"Host: api.example.test\r\n{headers}\r\n"
    ).encode()


def _refused(reply: bytes, status: int) -> None:
    assert reply.startswith(f"HTTP/1.1 {status} ".encode()), reply[:200]
    head = reply.split(b"\r\n\r\n", 1)[0]
    assert b"X-Sandgate-Reason: " in head and b"Connection: close" in head


def _still_serving(session: ProxySession, servers: Servers) -> None:
    result = curl(session, f"http://api.example.test:{servers.http.port}/alive")
    assert result.stdout == f"hello from api.example.test:{servers.http.port} /alive\n"


def test_a_one_megabyte_request_line_is_refused(session: ProxySession, servers) -> None:
    reply = _send(session, _request(servers, "/long", line_extra="?" + "a" * (1 << 20)))
    _refused(reply, 414)
    assert not any(p.startswith("/long") for p in servers.http.paths())
    _still_serving(session, servers)


def test_ten_thousand_headers_are_refused(session: ProxySession, servers) -> None:
    many = "".join(f"X-H{n}: v\r\n" for n in range(10_000))
    reply = _send(session, _request(servers, "/many", many))
    _refused(reply, 431)
    assert "/many" not in servers.http.paths()


def test_a_long_header_line_is_refused(session: ProxySession, servers) -> None:
    reply = _send(session, _request(servers, "/wide", "X-Wide: " + "w" * 20_000 + "\r\n"))
    _refused(reply, 431)
    assert "/wide" not in servers.http.paths()


def test_a_64_megabyte_head_is_refused_without_being_held(session: ProxySession, servers) -> None:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB, this process
    with socket.create_connection(("127.0.0.1", session.port), timeout=10) as s:
        s.sendall(_request(servers, "/huge")[:-2])  # the head, without its blank line
        filler = b"X-Filler: " + b"f" * 4000 + b"\r\n"
        sent = 0
        try:
            while sent < 64 << 20:
                s.sendall(filler * 16)
                sent += len(filler) * 16
        except (BrokenPipeError, ConnectionResetError):
            pass
        reply = b""
        try:
            while chunk := s.recv(65536):
                reply += chunk
        except (ConnectionResetError, TimeoutError):
            pass
    assert sent < 64 << 20, "the proxy kept reading a 64 MB head"
    assert reply.startswith(b"HTTP/1.1 431 ") or reply == b""  # reset before the read
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mib < 32, f"the proxy's process grew by {grown_mib:.0f} MiB"
    assert "/huge" not in servers.http.paths()
    _still_serving(session, servers)


def test_garbage_is_answered_at_once(session: ProxySession, servers: Servers) -> None:
    started = time.monotonic()
    garbage = os.urandom(4096).replace(b"\n", b"?")
    # A first byte 0x05 is a SOCKS5 greeting, not garbage (one run in 256 failed so).
    garbage = b"?" + garbage[1:] if garbage[0] == 0x05 else garbage
    reply = _send(session, garbage, timeout=5)
    _refused(reply, 400)
    assert time.monotonic() - started < 3  # not left open until some timeout
    _still_serving(session, servers)


def test_a_head_dribbled_a_byte_at_a_time_is_cut(
    session: ProxySession, servers: Servers, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(heads, "HEAD_TIMEOUT", 1.0)
    data = _request(servers, "/slow")
    reply = b""
    with socket.create_connection(("127.0.0.1", session.port), timeout=5) as s:
        deadline = time.monotonic() + 4
        try:
            for byte in data:
                s.sendall(bytes([byte]))
                time.sleep(0.1)
                if time.monotonic() > deadline:
                    break
        except (BrokenPipeError, ConnectionResetError):
            pass
        try:
            while chunk := s.recv(65536):
                reply += chunk
        except (ConnectionResetError, TimeoutError):
            pass
    _refused(reply, 408)
    assert "/slow" not in servers.http.paths()


@pytest.mark.parametrize(
    "header",
    ["X-A: nul\x00byte\r\n", "X-A: bare\rcarriage\r\n", "X-A: folded\r\n  continued\r\n"],
    ids=["nul", "bare-cr", "obs-fold"],
)
def test_control_characters_and_folding_in_headers_are_refused(
    session: ProxySession, servers: Servers, header: str
) -> None:
    reply = _send(session, _request(servers, "/inject", header))
    _refused(reply, 400)
    assert "/inject" not in servers.http.paths()
    _still_serving(session, servers)


def test_ordinary_heads_still_pass_on_a_kept_alive_connection(
    session: ProxySession, servers: Servers
) -> None:
    with socket.create_connection(("127.0.0.1", session.port), timeout=10) as s:
        reader = s.makefile("rb")
        for n in range(20):
            s.sendall(_request(servers, f"/keep-{n}", "X-Tab: a\tb\r\nX-Utf8: \xe9\r\n"))
            status = reader.readline()
            assert status.startswith(b"HTTP/1.1 200"), status
            length = 0
            while (line := reader.readline()) not in (b"\r\n", b""):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            reader.read(length)
    assert {f"/keep-{n}" for n in range(20)} <= set(servers.http.paths())
