"""Behaviour 15: malformed requests, oversized headers, aborted bodies, bursts — the proxy
keeps serving and never forwards a partial request."""

from __future__ import annotations

import socket
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.proxy.conftest import Net, ProxySession, Servers, curl


def _exchange(
    session: ProxySession, data: bytes, *, read: bool = True, timeout: float = 10
) -> bytes:
    with socket.create_connection(("127.0.0.1", session.port), timeout=timeout) as s:
        s.sendall(data)
        if not read:
            return b""
        chunks = []
        try:
            while chunk := s.recv(65536):
                chunks.append(chunk)
        except (ConnectionResetError, TimeoutError):
            pass
        return b"".join(chunks)


def _still_serving(session: ProxySession, servers: Servers) -> None:
    result = curl(session, f"http://api.example.test:{servers.http.port}/alive")
    assert result.stdout == f"hello from api.example.test:{servers.http.port} /alive\n"


@pytest.fixture
def session(open_session, servers: Servers) -> ProxySession:
    return open_session(
        Net(allow=("api.example.test", f"127.0.0.1:{servers.http.port}"), ask_timeout=0.5)
    )


@pytest.mark.parametrize(
    "data",
    [
        b"GARBAGE\r\n\r\n",
        b"\x00\x01\x02\x03\xff\xfe" * 100 + b"\r\n\r\n",
        b"GET http://api.example.test/ HTTP/9.9\r\n\r\n",
        b"GET  HTTP/1.1\r\nHost: \r\n\r\n",
        b"CONNECT nothing HTTP/1.1\r\n\r\n",
        b"GET http://api.example.test:99999/ HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET http://[::1/ HTTP/1.1\r\n\r\n",
        b"\x05\x01\x00",  # a SOCKS5 greeting on the HTTP port
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 40,  # TLS straight at it
    ],
    ids=["garbage", "binary", "version", "empty-target", "bad-connect", "bad-port", "bad-ipv6",
         "socks", "tls"],
)  # fmt: skip
def test_malformed_requests(session: ProxySession, servers: Servers, data: bytes) -> None:
    before = len(servers.http.seen)
    reply = _exchange(session, data, timeout=1.5)
    if data.startswith(b"\x05"):  # the same port speaks SOCKS5: it answers, then waits
        assert reply in (b"", b"\x05\x00")
    else:  # every other one is answered, at once, never left waiting
        assert reply[:10] in (b"HTTP/1.1 4", b"HTTP/1.1 5"), reply[:100]
    assert len(servers.http.seen) == before
    _still_serving(session, servers)


def test_request_smuggling_is_refused(session: ProxySession, servers: Servers) -> None:
    port = servers.http.port
    data = (
        f"POST http://api.example.test:{port}/smuggle HTTP/1.1\r\nHost: api.example.test\r\n"
        "Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
        f"GET http://api.example.test:{port}/hidden HTTP/1.1\r\nHost: x\r\n\r\n"
    ).encode()
    reply = _exchange(session, data)
    assert reply.startswith(b"HTTP/1.1 400")
    assert "/hidden" not in servers.http.paths() and "/smuggle" not in servers.http.paths()


def test_oversized_headers(session: ProxySession, servers: Servers) -> None:
    big = "a" * 300_000
    data = (
        f"GET http://api.example.test:{servers.http.port}/big-header HTTP/1.1\r\n"
        f"Host: api.example.test\r\nX-Big: {big}\r\n\r\n"
    ).encode()
    reply = _exchange(session, data)
    assert reply[:12] == b"HTTP/1.1 431", reply[:100]
    assert "/big-header" not in servers.http.paths()
    _still_serving(session, servers)


def test_client_aborting_mid_body_forwards_nothing(session: ProxySession, servers) -> None:
    head = (
        f"POST http://api.example.test:{servers.http.port}/aborted HTTP/1.1\r\n"
        "Host: api.example.test\r\nContent-Length: 100000\r\n\r\n"
    ).encode()
    _exchange(session, head + b"x" * 1000, read=False)
    time.sleep(0.3)
    assert "/aborted" not in servers.http.paths()
    _still_serving(session, servers)


def test_held_request_whose_client_leaves_is_never_forwarded(open_session, servers) -> None:
    s = open_session(Net(allow=(f"127.0.0.1:{servers.http.port}",), ask_timeout=0.5))
    data = (
        f"POST http://outside.test:{servers.http.port}/left HTTP/1.1\r\n"
        "Host: outside.test\r\nContent-Length: 5\r\n\r\nhello"
    ).encode()
    _exchange(s, data, read=False)
    time.sleep(1.0)
    assert "/left" not in servers.http.paths()


def test_many_requests_on_one_kept_alive_connection(session: ProxySession, servers) -> None:
    urls = [f"http://api.example.test:{servers.http.port}/ka/{i}" for i in range(12)]
    started = time.monotonic()
    result = curl(session, *urls, timeout=10)
    assert result.stdout.count("hello from") == 12, result.stderr
    assert time.monotonic() - started < 5


def test_two_hundred_concurrent_connections(session: ProxySession, servers: Servers) -> None:
    port = servers.http.port

    def one(i: int) -> bytes:
        request = (
            f"GET http://api.example.test:{port}/burst/{i} HTTP/1.1\r\n"
            f"Host: api.example.test:{port}\r\nConnection: close\r\n\r\n"
        ).encode()
        return _exchange(session, request)

    with ThreadPoolExecutor(max_workers=200) as pool:
        replies = list(pool.map(one, range(200)))
    ok = [r for r in replies if r.startswith(b"HTTP/1.1 200")]
    assert len(ok) == 200
    assert all(f"/burst/{i}\n".encode() in replies[i] for i in range(200))
    _still_serving(session, servers)
