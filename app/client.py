"""Talk to the Sandgate service over its local socket (JSON Lines, one request per line).

Standard library only: `sandgate run` imports this before the agent starts, and every
millisecond here is paid on each run. The service itself (SQLAlchemy, watchdog, triage)
is imported only by `connect_or_start`, and only when no service is running.
"""

from __future__ import annotations

import contextlib
import json
import socket
import time

TYPE_CHECKING = False
if TYPE_CHECKING:  # importing typing costs `sandgate run` more than this whole module
    from collections.abc import Iterator
    from typing import Any

    from app.paths import Paths


class ServiceError(Exception):
    """The service answered `ok: false`, or the connection broke."""


class Client:
    """One connection to the service. Requests are answered in order."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._reader = sock.makefile("rb")
        # The service this process started for itself (connect_or_start), if any: it
        # has a `stop()`, and ends with the process anyway.
        self.embedded: Any = None

    def request(self, op: str, **fields: Any) -> dict[str, Any]:
        """Send one request and return the response; raise ServiceError on `ok: false`."""
        line = json.dumps({"op": op, **fields}, separators=(",", ":")) + "\n"
        try:
            self._sock.sendall(line.encode())
            reply = self._reader.readline()
        except OSError as exc:
            raise ServiceError(f"lost the Sandgate service: {exc}") from exc
        if not reply:
            raise ServiceError("the Sandgate service closed the connection")
        response: dict[str, Any] = json.loads(reply)
        if not response.get("ok"):
            raise ServiceError(str(response.get("error", "the service refused the request")))
        return response

    def changes(self) -> Iterator[dict[str, Any]]:
        """After a `watch` request: each change the service sends, until it closes the
        connection (a watcher that fell behind, a service that stopped)."""
        while True:
            try:
                line = self._reader.readline()
            except (OSError, ValueError):  # ValueError: closed by `close()` meanwhile
                return
            if not line:
                return
            yield json.loads(line)

    def close(self) -> None:
        # Shut down first: a thread blocked reading `changes()` holds the reader's lock,
        # and only an end of stream lets it (and so `close`) go.
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)
        self._reader.close()
        self._sock.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def connect(paths: Paths) -> Client | None:
    """A client to the running service, or None when none is listening."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(str(paths.socket))
    except (FileNotFoundError, ConnectionRefusedError):
        sock.close()
        return None
    return Client(sock)


def connect_or_start(paths: Paths, wait: float = 10.0) -> Client:
    """A client to the running service, starting one in this process if none runs.

    The started service lives in a background thread of this process and ends with it.
    If another process is starting a service at the same moment, this waits for that
    one instead.
    """
    client = connect(paths)
    if client is not None:
        return client
    from app.service.runtime import REFUSALS, AlreadyRunning, start_in_thread

    embedded = None
    # Someone else holding the instance lock is starting a service: wait for its socket.
    with contextlib.suppress(AlreadyRunning):
        try:
            embedded = start_in_thread(paths)
        except REFUSALS as exc:  # its store cannot be used: nothing would be recorded
            raise ServiceError(str(exc)) from None
    deadline = time.monotonic() + wait
    while True:
        client = connect(paths)
        if client is not None:
            client.embedded = embedded
            return client
        if time.monotonic() > deadline:
            raise ServiceError(f"no Sandgate service answered at {paths.socket}")
        time.sleep(0.02)
