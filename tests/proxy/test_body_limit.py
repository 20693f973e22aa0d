"""Behaviour 15: a request body beyond the limit is refused whatever its framing (declared
size, chunked, HTTP/2, inside an intercepted tunnel), nothing of it is forwarded, and the
service's memory stays bounded while a client streams far more than the limit."""

from __future__ import annotations

import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox.proxy.session import SecretBinding
from tests.proxy.conftest import Net, ProxySession, ProxyThread, Servers

LIMIT = 1 << 20  # the engine below is started with "1m"
SENT = 48 << 20  # what the client streams: far beyond the limit
BOUND = "deep.api.example.test"  # bound to a credential: its TLS is always intercepted


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProxyThread]:
    """This module's own engine, with a small request limit (overrides conftest's)."""
    runner = ProxyThread(tmp_path_factory.mktemp("engine-limit"), body_size_limit="1m")
    yield runner
    runner.stop()


def _rss() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


class _PeakRss:
    """The peak resident size of this process (which runs the proxy) above its start."""

    def __init__(self) -> None:
        self.base = _rss()
        self.peak = self.base
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def _watch(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, _rss())
            time.sleep(0.005)

    def __enter__(self) -> _PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _rss())

    @property
    def growth(self) -> int:
        return self.peak - self.base

    def __str__(self) -> str:
        return f"grew by {self.growth / (1 << 20):.1f} MiB"


@pytest.fixture
def session(open_session, servers: Servers) -> ProxySession:
    # api.example.test is allowed; HTTPS to BOUND is intercepted (an allowed destination's
    # tunnel is passed through, never buffered).
    binding = SecretBinding("key", BOUND, "x-api-key", "KEY", "the-secret")
    return open_session(
        Net(
            allow=(
                "api.example.test",
                f"127.0.0.1:{servers.http.port}",
                f"127.0.0.1:{servers.https.port}",
            )
        ),
        credentials=(binding,),
    )


def _chunked_curl(
    session: ProxySession, url: str, *extra: str
) -> subprocess.CompletedProcess[bytes]:
    """curl streams SENT bytes from a pipe as a chunked body (its size is never declared)."""
    feeder = subprocess.Popen(["head", "-c", str(SENT), "/dev/zero"], stdout=subprocess.PIPE)
    try:
        return subprocess.run(
            ["curl", "-sS", "-i", "--max-time", "20", "-x", session.url,
             "--cacert", str(session.bundle), "-H", "Transfer-Encoding: chunked",
             "--data-binary", "@-", *extra, url],
            stdin=feeder.stdout,
            capture_output=True,
            timeout=30,
        )  # fmt: skip
    finally:
        assert feeder.stdout is not None
        feeder.stdout.close()
        feeder.kill()
        feeder.wait()


def _assert_refused(reply: bytes) -> None:
    heads = [h for h in reply.split(b"\r\n\r\n") if h.startswith(b"HTTP/")]
    final = [
        h
        for h in heads
        if not h.startswith((b"HTTP/1.1 1", b"HTTP/2 1")) and b"Connection established" not in h
    ]
    assert final, reply[:300]
    head = final[0].decode("latin-1").lower()
    assert head.startswith(("http/1.1 413", "http/2 413")), reply[:300]
    assert "x-sandgate-reason:" in head and "request bodies over" in head


@pytest.mark.parametrize(
    "scheme, version", [("http", "--http1.1"), ("https", "--http1.1"), ("https", "--http2")]
)
def test_chunked_body_over_limit_is_refused_in_bounded_memory(
    session: ProxySession, servers: Servers, scheme: str, version: str
) -> None:
    """HTTP/1 chunked in plain HTTP and in intercepted TLS, and HTTP/2 without a declared
    size (curl sends no content-length for a piped body)."""
    if scheme == "http":
        url = f"http://api.example.test:{servers.http.port}/limit-chunked-big"
    else:
        url = f"https://{BOUND}:{servers.https.port}/limit-chunked-big"
    with _PeakRss() as rss:
        result = _chunked_curl(session, url, version)
    print(f"{scheme} {version} chunked: {rss}")
    _assert_refused(result.stdout)
    if version == "--http2":  # intercepted TLS speaks HTTP/2 with the client
        assert b"HTTP/2 413" in result.stdout
    time.sleep(0.2)
    assert "/limit-chunked-big" not in servers.http.paths() + servers.https.paths()
    assert rss.growth < SENT // 4, f"the proxy's memory {rss}"
    assert any(o.action == "deny" for o in session.outcomes("net.request"))


def test_chunked_body_under_limit_is_forwarded_whole(session: ProxySession, servers) -> None:
    url = f"http://api.example.test:{servers.http.port}/limit-chunked-small"
    body = b"z" * (LIMIT - 10)
    result = subprocess.run(
        ["curl", "-sS", "-x", session.url, "-H", "Transfer-Encoding: chunked",
         "--data-binary", "@-", url],
        input=body, capture_output=True, timeout=30,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    seen = [s for s in servers.http.seen if s.path == "/limit-chunked-small"]
    assert len(seen) == 1


def _stream_until_refused(port: int, head: bytes, piece: bytes) -> tuple[int, bytes]:
    """Send `head`, then `piece` after `piece` until SENT bytes or the proxy stops taking
    them; return how much was sent and everything the proxy answered."""
    sent = 0
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(head)
        try:
            while sent < SENT:
                s.sendall(piece)
                sent += len(piece)
        except (BrokenPipeError, ConnectionResetError):
            pass
        reply = b""
        try:
            while data := s.recv(65536):
                reply += data
        except (ConnectionResetError, TimeoutError):
            pass
    return sent, reply


def test_raw_chunked_stream_is_cut_and_nothing_forwarded(
    session: ProxySession, servers: Servers
) -> None:
    head = (
        f"POST http://api.example.test:{servers.http.port}/limit-raw-chunked HTTP/1.1\r\n"
        "Host: api.example.test\r\nTransfer-Encoding: chunked\r\n\r\n"
    ).encode()
    chunk = b"%x\r\n%s\r\n" % (65536, b"q" * 65536)
    with _PeakRss() as rss:
        sent, reply = _stream_until_refused(session.port, head, chunk)
    print(f"raw chunked: {rss}, client sent {sent >> 20} MiB")
    _assert_refused(reply)
    assert "/limit-raw-chunked" not in servers.http.paths()
    assert rss.growth < SENT // 4


def test_declared_body_over_limit_is_not_read(session: ProxySession, servers: Servers) -> None:
    """Refused on its headers; the body is then not read into memory either."""
    head = (
        f"POST http://api.example.test:{servers.http.port}/limit-declared-big HTTP/1.1\r\n"
        f"Host: api.example.test\r\nContent-Length: {SENT}\r\n\r\n"
    ).encode()
    with _PeakRss() as rss:
        sent, reply = _stream_until_refused(session.port, head, b"d" * 65536)
    print(f"declared: {rss}, client sent {sent >> 20} MiB")
    assert reply.startswith(b"HTTP/1.1 4"), reply[:200]
    assert b"request bodies over" in reply
    assert "/limit-declared-big" not in servers.http.paths()
    assert rss.growth < SENT // 4


def test_data_behind_a_held_request_is_not_read_into_memory(open_session, servers) -> None:
    """While a request waits for a decision, what the client sends behind it is left in
    the socket (the proxy stops reading) instead of queued in memory."""
    s = open_session(Net(allow=(f"127.0.0.1:{servers.http.port}",), ask_timeout=1))
    head = (
        f"POST http://outside.test:{servers.http.port}/limit-held HTTP/1.1\r\n"
        "Host: outside.test\r\nContent-Length: 5\r\n\r\nhello"
    ).encode()
    sent = 0
    with (
        _PeakRss() as rss,
        socket.create_connection(("127.0.0.1", s.port), timeout=1) as c,
    ):
        c.sendall(head)
        time.sleep(0.2)  # the request is now held
        try:
            while sent < SENT:
                c.sendall(b"p" * 65536)
                sent += 65536
        except OSError:  # timed out: nobody reads
            pass
    print(f"held then pipelined: {rss}, client sent {sent >> 20} MiB")
    assert sent < SENT
    assert rss.growth < SENT // 4
    assert "/limit-held" not in servers.http.paths()


def test_http2_body_of_undeclared_size_reaches_an_http1_upstream_framed(
    session: ProxySession, servers: Servers
) -> None:
    """Inside intercepted TLS the client speaks HTTP/2 and declares no size; the upstream
    speaks HTTP/1.1: the body must arrive whole, chunked, never as a 502."""
    url = f"https://{BOUND}:{servers.https.port}/limit-h2-undeclared"
    body = b"h" * 50_000
    result = subprocess.run(
        ["curl", "-sS", "-i", "--http2", "-x", session.url, "--cacert", str(session.bundle),
         "-H", "x-api-key: " + session.plan.env["KEY"], "-X", "POST", "-T", "-", url],
        input=body, capture_output=True, timeout=30,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert b"HTTP/2 200" in result.stdout, result.stdout[:300]
    seen = [s for s in servers.https.seen if s.path == "/limit-h2-undeclared"]
    assert len(seen) == 1 and seen[0].body == body
    headers = {k.lower(): v for k, v in seen[0].headers.items()}
    assert headers.get("content-length") == str(len(body)) or "transfer-encoding" in headers


def test_a_refusal_inside_a_tunnel_reaches_a_client_still_sending(
    session: ProxySession, servers: Servers
) -> None:
    """Inside intercepted TLS a refusal cannot half-close: mitmproxy's tunnel made it a
    full close, the reset threw the 413 away, and curl (told 100 Continue, still
    sending) said "empty reply" about one time in five. Again and again, it must hear."""
    url = f"https://{BOUND}:{servers.https.port}/limit-tunnel-refusal"
    for attempt in range(8):
        result = _chunked_curl(session, url, "--http1.1")
        assert b"HTTP/1.1 413" in result.stdout, (attempt, result.stderr, result.stdout[-300:])
    assert "/limit-tunnel-refusal" not in servers.https.paths()
