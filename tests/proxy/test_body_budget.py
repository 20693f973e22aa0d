"""Issue 9: one session's connections and HTTP/2 streams together may hold no more than
its budget of bodies in the proxy. Past it a request body is refused with 503 and
Sandgate's reason, and recorded; the proxy keeps serving; a body exactly within the
budget always passes, however it is framed, after aborts and refusals alike."""

from __future__ import annotations

import gzip
import http.server
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from sandbox.proxy.session import SecretBinding
from tests.proxy.conftest import Net, ProxySession, ProxyThread, Servers, curl
from tests.proxy.h2_client import H2Client, H2Reply, H2Request, h2_requests, h2_requests_apart
from tests.proxy.test_body_limit import _PeakRss

BUDGET = 1 << 20  # the engine below: "1m" for one body and for the session's budget
BOUND = "deep.api.example.test"  # bound to a credential: its TLS is always intercepted
BUDGET_REASON = "(its budget)"


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProxyThread]:
    """This module's own engine: a one-body limit equal to the session's budget."""
    runner = ProxyThread(
        tmp_path_factory.mktemp("engine-budget"), body_size_limit="1m", session_budget="1m"
    )
    yield runner
    runner.stop()


class _GatedHandler(http.server.BaseHTTPRequestHandler):
    """Reads the whole body, then answers only once the test opens the gate: until then
    the proxy holds the request's body in its flow."""

    protocol_version = "HTTP/1.1"
    server: GatedServer

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        with self.server.lock:
            self.server.bodies.append((self.path, len(body)))
        self.server.gate.wait(60)
        reply = f"got {len(body)}\n".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *_args: Any) -> None:
        pass


class GatedServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def __init__(self, tls: ssl.SSLContext | None) -> None:
        super().__init__(("127.0.0.1", 0), _GatedHandler)
        self.gate = threading.Event()
        self.lock = threading.Lock()
        self.bodies: list[tuple[str, int]] = []
        if tls is not None:
            self.socket = tls.wrap_socket(self.socket, server_side=True)
        self.port = self.server_address[1]


@pytest.fixture
def gated(servers: Servers) -> Iterator[tuple[GatedServer, GatedServer]]:
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(servers.pki.cert_pem, servers.pki.key_pem)
    plain, secure = GatedServer(None), GatedServer(tls)
    for server in (plain, secure):
        threading.Thread(target=server.serve_forever, daemon=True).start()
    yield plain, secure
    for server in (plain, secure):
        server.gate.set()
        server.shutdown()
        server.server_close()


def _session(open_session, servers: Servers, *ports: int) -> ProxySession:
    binding = SecretBinding("key", BOUND, "x-api-key", "KEY", "the-secret")
    addresses = [f"127.0.0.1:{p}" for p in (servers.http.port, servers.https.port, *ports)]
    return open_session(Net(allow=("api.example.test", *addresses)), credentials=(binding,))


def _held(engine: ProxyThread, session: ProxySession) -> int:
    budget = engine.proxy._listeners[session.id].session.budget
    return budget.held


def _wait_released(engine: ProxyThread, session: ProxySession, timeout: float = 10) -> None:
    """The proxy has let go of every body of the session (aborts noticed, flows ended)."""
    deadline = time.monotonic() + timeout
    while _held(engine, session) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert _held(engine, session) == 0, f"{_held(engine, session)} bytes still charged"


def _curl_post(session: ProxySession, url: str, body: Path, *extra: str) -> bytes:
    result = subprocess.run(
        ["curl", "-sS", "-i", "--max-time", "60", "-x", session.url,
         "--cacert", str(session.bundle), "-H", "Expect:", "--data-binary", f"@{body}",
         *extra, url],
        capture_output=True, timeout=70,
    )  # fmt: skip
    return result.stdout


def _final_status(reply: bytes) -> tuple[int, str]:
    """The final status of a curl -i reply, and its X-Sandgate-Reason (or "")."""
    heads = [h for h in reply.split(b"\r\n\r\n") if h.startswith(b"HTTP/")]
    final = [h for h in heads if b" 200 Connection established" not in h]
    if not final:
        return 0, ""
    lines = final[-1].decode("latin-1").split("\r\n")
    reason = next((x.split(":", 1)[1].strip() for x in lines if x.lower().startswith(
        "x-sandgate-reason:")), "")  # fmt: skip
    return int(lines[0].split()[1]), reason


def _budget_denials(session: ProxySession) -> int:
    return sum(
        1
        for o in session.outcomes("net.request")
        if o.action == "deny" and BUDGET_REASON in o.reason
    )


def test_http1_connections_and_http2_streams_together_over_budget_are_refused(
    open_session, engine: ProxyThread, servers: Servers, gated, tmp_path: Path
) -> None:
    """Plain HTTP/1.1, HTTP/1.1 in intercepted TLS and HTTP/2 streams on one connection,
    all at once, each body under the budget and all together far over it: as many as fit
    are held (their upstream waits), the rest are refused with 503 and the reason."""
    plain, secure = gated
    session = _session(open_session, servers, plain.port, secure.port)
    size = 300_000  # three fit in the budget, a fourth does not
    body = tmp_path / "body"
    body.write_bytes(b"b" * size)
    key = session.plan.env["KEY"]
    h1_plain = [f"http://api.example.test:{plain.port}/budget-h1-{i}" for i in range(8)]
    h1_tls = [f"https://{BOUND}:{secure.port}/budget-h1s-{i}" for i in range(6)]
    streams = [(f"/budget-h2-{i}", size, (("x-api-key", key),), i % 2 == 0) for i in range(10)]
    total = len(h1_plain) + len(h1_tls) + len(streams)
    with _PeakRss() as rss, ThreadPoolExecutor(max_workers=total + 1) as pool:
        curls = [pool.submit(_curl_post, session, url, body) for url in h1_plain]
        curls += [
            pool.submit(_curl_post, session, url, body, "--http1.1", "-H", f"x-api-key: {key}")
            for url in h1_tls
        ]
        h2 = pool.submit(
            h2_requests_apart, session.port, BOUND, secure.port, session.bundle, streams
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            arrived = len(plain.bodies) + len(secure.bodies)
            if arrived + _budget_denials(session) >= total:
                break
            time.sleep(0.02)
        held_while_full = _held(engine, session)
        # The proxy keeps serving the same session while its budget is spent.
        alive = curl(session, f"http://api.example.test:{servers.http.port}/budget-while-full")
        plain.gate.set()
        secure.gate.set()
        replies = [_final_status(c.result()) for c in curls]
        h2_replies: list[H2Reply] = h2.result()
    print(f"{total} bodies of {size} bytes at once, budget {BUDGET}: proxy {rss}")
    assert alive.stdout.startswith("hello from api.example.test"), alive.stderr
    arrived = plain.bodies + secure.bodies
    assert all(length == size for _, length in arrived)
    assert len(arrived) == BUDGET // size, arrived  # exactly as many as fit
    assert held_while_full <= BUDGET
    statuses = [s for s, _ in replies] + [r.status for r in h2_replies]
    assert statuses.count(200) == len(arrived), statuses
    odd = [(i, s, r) for i, (s, r) in enumerate(replies) if s not in (200, 503)]
    odd += [(i, r.status, r) for i, r in enumerate(h2_replies) if r.status not in (200, 503)]
    assert statuses.count(503) == total - len(arrived), odd
    for status, reason in replies:
        assert status == 200 or BUDGET_REASON in reason, (status, reason)
    for reply in h2_replies:
        assert reply.status == 200 or BUDGET_REASON in reply.headers["x-sandgate-reason"]
        assert reply.status != 503 or reply.headers.get("retry-after") == "1"
    assert _budget_denials(session) == total - len(arrived)
    _wait_released(engine, session)


def test_many_clients_over_budget_leave_memory_bounded(
    open_session, engine: ProxyThread, servers: Servers, gated, tmp_path: Path
) -> None:
    """Forty clients each sending a body just under the budget at once: the proxy's
    memory grows by a few budgets, not by what all of them sent."""
    plain, secure = gated
    session = _session(open_session, servers, plain.port, secure.port)
    size = BUDGET - 4096
    body = tmp_path / "body"
    body.write_bytes(b"m" * size)
    key = session.plan.env["KEY"]
    count = 20
    streams = [(f"/budget-m2-{i}", size, (("x-api-key", key),), False) for i in range(count)]
    sent = 2 * count * size
    with _PeakRss() as rss, ThreadPoolExecutor(max_workers=count + 1) as pool:
        curls = [
            pool.submit(
                _curl_post, session, f"http://api.example.test:{plain.port}/budget-m1-{i}", body
            )
            for i in range(count)
        ]
        h2 = pool.submit(
            h2_requests_apart, session.port, BOUND, secure.port, session.bundle, streams
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            arrived = len(plain.bodies) + len(secure.bodies)
            if arrived + _budget_denials(session) >= 2 * count:
                break
            time.sleep(0.02)
        plain.gate.set()
        secure.gate.set()
        statuses = [_final_status(c.result())[0] for c in curls]
        statuses += [r.status or 0 for r in h2.result()]
    print(f"{2 * count} clients sent {sent >> 20} MiB against a 1 MiB budget: proxy {rss}")
    assert statuses.count(200) == 1 and statuses.count(503) == 2 * count - 1, statuses
    assert rss.growth < sent // 4, f"the proxy's memory {rss}"
    _wait_released(engine, session)


def _abort_midway(session: ProxySession, url_host: str, port: int, size: int) -> None:
    """A client that declares `size` bytes, sends half, and goes away."""
    head = (
        f"POST http://{url_host}:{port}/budget-aborted HTTP/1.1\r\nHost: {url_host}\r\n"
        f"Content-Length: {size}\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", session.port), timeout=10) as s:
        s.sendall(head + b"a" * (size // 2))
        time.sleep(0.05)


def test_a_body_exactly_the_budget_always_passes(
    open_session, engine: ProxyThread, servers: Servers, tmp_path: Path
) -> None:
    """The whole budget in one body, again and again, in every framing (declared, chunked,
    HTTP/2 with and without content-length, gzip), after clients that abort mid-body and
    bodies refused over the budget: each passes, and the session holds nothing after."""
    session = _session(open_session, servers)
    key = session.plan.env["KEY"]
    exact = tmp_path / "exact"
    exact.write_bytes(b"e" * BUDGET)
    packed = gzip.compress(b"g" * (4 * BUDGET), mtime=0)
    zipped = tmp_path / "zipped"  # the budget counts the body as sent, not decoded
    zipped.write_bytes(packed + b"z" * (BUDGET - len(packed)))
    over = tmp_path / "over"
    over.write_bytes(b"o" * (BUDGET + 1))
    plain = f"http://api.example.test:{servers.http.port}"
    secure = f"https://{BOUND}:{servers.https.port}"
    for round_ in range(4):
        _abort_midway(session, "api.example.test", servers.http.port, BUDGET)
        _wait_released(engine, session)
        refused, _ = _final_status(_curl_post(session, f"{plain}/budget-over", over))
        assert refused == 413
        _wait_released(engine, session)
        checks: list[tuple[str, bytes]] = [
            ("declared", _curl_post(session, f"{plain}/budget-exact-{round_}", exact)),
            (
                "chunked",
                _curl_post(
                    session,
                    f"{plain}/budget-chunked-{round_}",
                    exact,
                    "-H",
                    "Transfer-Encoding: chunked",
                ),
            ),
            (
                "tls",
                _curl_post(
                    session,
                    f"{secure}/budget-tls-{round_}",
                    exact,
                    "--http1.1",
                    "-H",
                    f"x-api-key: {key}",
                ),
            ),
            (
                "gzip",
                _curl_post(
                    session, f"{plain}/budget-gzip-{round_}", zipped, "-H", "Content-Encoding: gzip"
                ),
            ),
        ]
        for name, reply in checks:
            assert _final_status(reply)[0] == 200, (name, reply[:300])
            _wait_released(engine, session)
        for declared in (False, True):
            (reply,) = h2_requests(
                session.port, BOUND, servers.https.port, session.bundle,
                [H2Request(f"/budget-h2-{round_}-{declared}", b"e" * BUDGET,
                           (("x-api-key", key),), declared=declared)],
            )  # fmt: skip
            assert reply.status == 200 and reply.ended, reply
            _wait_released(engine, session)
    arrived = [s for s in servers.http.seen + servers.https.seen if s.path != "/budget-aborted"]
    assert sum(1 for s in arrived if len(s.body) == BUDGET) == 4 * 6
    assert "/budget-over" not in [s.path for s in servers.http.seen]


def test_refused_http2_streams_leave_nothing_on_a_connection_that_stays(
    open_session, engine: ProxyThread, servers: Servers
) -> None:
    """One HTTP/2 connection, kept open: stream after refused stream (over the limit) is
    reset and let go of, so the same connection's next body of exactly the budget
    passes. A refused stream kept on the budget until the connection closed would have
    spent it."""
    session = _session(open_session, servers)
    key = (("x-api-key", session.plan.env["KEY"]),)
    with H2Client(session.port, BOUND, servers.https.port, session.bundle) as client:
        for round_ in range(3):
            for i in range(4):
                body = b"o" * (BUDGET + 1)
                (reply,) = client.send([H2Request(f"/budget-h2-over-{round_}-{i}", body, key)])
                assert reply.status == 413 and reply.reset, reply
            _wait_released(engine, session)
            (exact,) = client.send([H2Request(f"/budget-h2-after-{round_}", b"e" * BUDGET, key)])
            assert exact.status == 200 and exact.ended, exact
    assert not [p for p in servers.https.paths() if p.startswith("/budget-h2-over-")]
