"""Servers the proxy tests own on 127.0.0.1: a test CA and its certificate for every
name the tests use (mapped to loopback through the policy's `resolve`), and HTTP and
HTTPS servers that record what reaches them. The fixtures are in conftest.py."""

from __future__ import annotations

import http.server
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.demo.certificates import make_certificates

NAMES = (
    "api.example.test",
    "example.test",
    "evilexample.test",
    "deep.api.example.test",
    "outside.test",
    "unknown.test",
    "sneaky.test",
    # The agents' vendors, served on loopback only (mapped through `resolve`).
    "api.anthropic.com",
    "platform.claude.com",
    "generativelanguage.googleapis.com",
    "api.openai.com",
    "auth.openai.com",
    "chatgpt.com",
    # A package registry (`network.fetch`).
    "registry.test",
)


# --- certificates ---------------------------------------------------------------------


@dataclass
class TestPKI:
    ca_pem: Path
    cert_pem: Path
    key_pem: Path


def make_pki(folder: Path) -> TestPKI:
    """The CA and the one certificate, for every name of NAMES, that the servers here
    present (the demo's own maker: one place makes a loopback CA)."""
    return TestPKI(*make_certificates(NAMES, folder))


def send_big(handler: http.server.BaseHTTPRequestHandler, chunk_size: int) -> None:
    """Answer `GET /big/SIZE` with SIZE bytes of `x`, written `chunk_size` at a time."""
    size = int(handler.path.split("/")[2])
    handler.send_response(200)
    handler.send_header("Content-Length", str(size))
    handler.end_headers()
    chunk = b"x" * chunk_size
    sent = 0
    while sent < size:
        part = chunk[: size - sent]
        handler.wfile.write(part)
        sent += len(part)


# --- servers that record what reaches them ----------------------------------------------


@dataclass
class Seen:
    method: str
    path: str
    host: str
    headers: dict[str, str]
    body: bytes


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: RecordingServer

    def _handle(self) -> None:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            body = self._chunked_body()
        else:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
        self.server.seen.append(
            Seen(
                self.command,
                self.path,
                self.headers.get("Host", ""),
                {k.lower(): v for k, v in self.headers.items()},
                body,
            )
        )
        reply = self.server.replies.get(self.path)
        if reply is not None:
            content_type, data = reply
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        if self.path.startswith("/big/"):
            send_big(self, 65536)
            return
        if self.path.startswith("/repo.git/") and self.server.git_root is not None:
            target = self.server.git_root / self.path[len("/repo.git/") :].split("?")[0]
            if target.is_file():
                data = target.read_bytes()
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                return
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        payload = f"hello from {self.headers.get('Host', '')} {self.path}\n".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _chunked_body(self) -> bytes:
        parts = []
        while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
            parts.append(self.rfile.read(size))
            self.rfile.readline()
        # Trailer lines, up to the blank line that ends the body: read and dropped.
        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
            continue
        return b"".join(parts)

    do_GET = do_POST = do_PUT = do_DELETE = _handle

    def log_message(self, *_args: Any) -> None:
        pass


class RecordingServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # bursts of 200 connections must not overflow the backlog

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.seen: list[Seen] = []
        self.replies: dict[str, tuple[str, bytes]] = {}  # path → (content type, body)
        self.git_root: Path | None = None
        self.tls = tls
        if tls is not None:
            self.socket = tls.wrap_socket(self.socket, server_side=True)
        self.port = self.server_address[1]

    def paths(self) -> list[str]:
        return [s.path for s in self.seen]


@dataclass
class Servers:
    http: RecordingServer
    https: RecordingServer
    pki: TestPKI

    def clear(self) -> None:
        self.http.seen.clear()
        self.https.seen.clear()
