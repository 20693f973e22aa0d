"""A small HTTP/2 client over the proxy: CONNECT, TLS with ALPN h2 (intercepted by the
proxy), then many streams at once on one connection, each sending its body as the
peer's flow-control windows allow. Built on the h2 library (mitmproxy's own)."""

from __future__ import annotations

import json
import socket
import ssl
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import h2.config
import h2.connection
import h2.events
import h2.exceptions


@dataclass
class H2Reply:
    """What one stream got back: its status (None: none came), headers, body, and
    whether the stream was reset instead of ended."""

    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    reset: bool = False
    ended: bool = False


@dataclass
class H2Request:
    path: str
    body: bytes
    headers: tuple[tuple[str, str], ...] = ()
    declared: bool = False  # send content-length (otherwise only the stream's end says)


def h2_requests(
    proxy_port: int,
    host: str,
    port: int,
    bundle: Path,
    requests: list[H2Request],
    timeout: float = 30,
) -> list[H2Reply]:
    """Send `requests` as concurrent POST streams on one HTTP/2 connection tunnelled to
    `host:port` through the proxy on 127.0.0.1:`proxy_port`; return each reply in order."""
    with H2Client(proxy_port, host, port, bundle, timeout) as client:
        return client.send(requests)


class H2Client:
    """One HTTP/2 connection through the proxy, for batches of streams one after another."""

    def __init__(
        self, proxy_port: int, host: str, port: int, bundle: Path, timeout: float = 30
    ) -> None:
        self.authority = f"{host}:{port}"
        self.raw = socket.create_connection(("127.0.0.1", proxy_port), timeout=timeout)
        try:
            self.tls = self._tunnel(host, port, bundle)
        except BaseException:
            self.raw.close()
            raise
        self.conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
        self.conn.initiate_connection()
        self.tls.sendall(self.conn.data_to_send())

    def _tunnel(self, host: str, port: int, bundle: Path) -> ssl.SSLSocket:
        self.raw.sendall(
            f"CONNECT {self.authority} HTTP/1.1\r\nHost: {self.authority}\r\n\r\n".encode()
        )
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.raw.recv(4096)
            if not chunk:
                raise ConnectionError(f"the proxy closed the CONNECT: {head!r}")
            head += chunk
        if not head.startswith(b"HTTP/1.1 200"):
            raise ConnectionError(f"CONNECT refused: {head[:200]!r}")
        context = ssl.create_default_context(cafile=str(bundle))
        context.set_alpn_protocols(["h2"])
        tls = context.wrap_socket(self.raw, server_hostname=host)
        if tls.selected_alpn_protocol() != "h2":
            raise ConnectionError("the proxy did not speak HTTP/2")
        return tls

    def __enter__(self) -> H2Client:
        return self

    def __exit__(self, *_: object) -> None:
        self.raw.close()

    def send(self, requests: list[H2Request]) -> list[H2Reply]:
        """Send `requests` as concurrent streams; return once each has ended or was reset."""
        conn, tls = self.conn, self.tls
        ids: list[int] = []
        rest: dict[int, memoryview] = {}
        replies: dict[int, H2Reply] = {}
        for request in requests:
            stream_id = conn.get_next_available_stream_id()
            headers = [(":method", "POST"), (":path", request.path),
                       (":authority", self.authority), (":scheme", "https"),
                       *request.headers]  # fmt: skip
            if request.declared:
                headers.append(("content-length", str(len(request.body))))
            conn.send_headers(stream_id, headers)
            ids.append(stream_id)
            rest[stream_id] = memoryview(request.body)
            replies[stream_id] = H2Reply()
        tls.sendall(conn.data_to_send())
        while not all(r.ended or r.reset for r in replies.values()):
            _send_what_fits(conn, rest, replies)
            tls.sendall(conn.data_to_send())
            data = tls.recv(65536)
            if not data:
                break
            for event in conn.receive_data(data):
                _on_event(conn, event, replies, rest)
            tls.sendall(conn.data_to_send())
        return [replies[i] for i in ids]


def _send_what_fits(
    conn: h2.connection.H2Connection, rest: dict[int, memoryview], replies: dict[int, H2Reply]
) -> None:
    for stream_id, left in list(rest.items()):
        if replies[stream_id].reset:
            del rest[stream_id]
            continue
        try:
            window = conn.local_flow_control_window(stream_id)
            while left and window > 0:
                size = min(window, conn.max_outbound_frame_size, len(left))
                conn.send_data(stream_id, left[:size].tobytes())
                left = left[size:]
                window -= size
            rest[stream_id] = left
            if not left:
                conn.end_stream(stream_id)
                del rest[stream_id]
        except (h2.exceptions.StreamClosedError, h2.exceptions.ProtocolError):
            del rest[stream_id]


def _on_event(
    conn: h2.connection.H2Connection,
    event: h2.events.Event,
    replies: dict[int, H2Reply],
    rest: dict[int, memoryview],
) -> None:
    stream_id = getattr(event, "stream_id", None)
    reply = replies.get(stream_id) if stream_id else None
    if isinstance(event, h2.events.ResponseReceived) and reply is not None:
        headers = {k.decode(): v.decode() for k, v in event.headers}
        reply.status = int(headers.pop(":status"))
        reply.headers = headers
    elif isinstance(event, h2.events.DataReceived) and reply is not None:
        reply.body += event.data
        conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
    elif isinstance(event, h2.events.StreamEnded) and reply is not None:
        reply.ended = True
    elif isinstance(event, h2.events.StreamReset) and reply is not None:
        reply.reset = True
        rest.pop(event.stream_id, None)
    elif isinstance(event, h2.events.ConnectionTerminated):
        for r in replies.values():
            r.reset = r.reset or not r.ended


def h2_requests_apart(
    proxy_port: int,
    host: str,
    port: int,
    bundle: Path,
    requests: list[tuple[str, int, tuple[tuple[str, str], ...], bool]],
    timeout: float = 60,
) -> list[H2Reply]:
    """`h2_requests` in a process of its own (so the proxy's memory is measured alone):
    each request is (path, body size, headers, declared)."""
    job = {"proxy": proxy_port, "host": host, "port": port, "bundle": str(bundle),
           "requests": requests, "timeout": timeout}  # fmt: skip
    result = subprocess.run(
        [sys.executable, "-m", "tests.proxy.h2_client"],
        input=json.dumps(job),
        capture_output=True,
        text=True,
        timeout=timeout + 30,
        cwd=Path(__file__).resolve().parents[2],
    )
    if result.returncode != 0:
        raise RuntimeError(f"the HTTP/2 client failed: {result.stderr[-2000:]}")
    return [H2Reply(**r) for r in json.loads(result.stdout)]


def _main() -> None:
    job = json.load(sys.stdin)
    requests = [
        H2Request(path, b"d" * size, tuple((k, v) for k, v in headers), declared)
        for path, size, headers, declared in job["requests"]
    ]
    replies = h2_requests(
        job["proxy"], job["host"], job["port"], Path(job["bundle"]), requests, job["timeout"]
    )
    out = [r.__dict__ | {"body": r.body.decode("latin-1")} for r in replies]
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    _main()
