"""The demo's two servers, both on 127.0.0.1 and both recording what reaches them.

The collector stands for the attacker's outside server (plain HTTP). The vendor API
stands for an agent vendor's API (HTTPS, with a certificate from a CA made for this
run): it answers 200 to the key Sandgate provisioned and 401 to anything else, and
records which key each request carried, so the demo can show that only the real key
ever arrived and only through Sandgate.
"""

from __future__ import annotations

import http.server
import ssl
import threading
from dataclasses import dataclass
from pathlib import Path

from app.demo.certificates import make_certificates


@dataclass(frozen=True)
class Received:
    """One request as a server saw it."""

    method: str
    path: str
    key: str  # the value of the x-api-key header, "" if none
    size: int  # bytes of body


class _Recorder(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, handler: type[http.server.BaseHTTPRequestHandler]) -> None:
        super().__init__(("127.0.0.1", 0), handler)
        self.received: list[Received] = []
        self.lock = threading.Lock()
        self.accepted_key = ""


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Recorder

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        key = self.headers.get("x-api-key", "")
        with self.server.lock:
            self.server.received.append(Received(self.command, self.path, key, len(body)))
        accepted = self.server.accepted_key
        ok = not accepted or key == accepted
        reply = b'{"ok": true}\n' if ok else b'{"error": "invalid api key"}\n'
        self.send_response(200 if ok else 401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    do_GET = do_POST = do_PUT = _answer

    def log_message(self, format: str, *args: object) -> None:
        pass  # the demo prints its own account


class Server:
    """A recording server in a thread of this process; `stop()` ends it."""

    def __init__(self, recorder: _Recorder, scheme: str) -> None:
        self._recorder = recorder
        self.scheme = scheme
        self.port = int(recorder.server_address[1])
        self._thread = threading.Thread(target=recorder.serve_forever, daemon=True)
        self._thread.start()

    def received(self) -> list[Received]:
        with self._recorder.lock:
            return list(self._recorder.received)

    def stop(self) -> None:
        self._recorder.shutdown()
        self._recorder.server_close()
        self._thread.join(timeout=5)


def start_collector() -> Server:
    """The attacker's "outside" server: records everything, answers 200."""
    return Server(_Recorder(_Handler), "http")


def start_vendor(name: str, key: str, folder: Path) -> tuple[Server, Path]:
    """The vendor API for `name`, accepting only `key`; returns it and its CA file."""
    ca_file, cert_file, key_file = make_certificates([name], folder)
    recorder = _Recorder(_Handler)
    recorder.accepted_key = key
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    recorder.socket = context.wrap_socket(recorder.socket, server_side=True)
    return Server(recorder, "https"), ca_file
