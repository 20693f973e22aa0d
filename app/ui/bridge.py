"""The one seam between the service socket and Qt.

A reader thread holds a `watch` connection, folds each change into a frozen `State`
and hands it to the GUI through a queued signal, at most every `FLUSH_S` (a burst of a
thousand requests becomes a few updates, never a thousand). When the service goes
away the last state is re-sent marked stale, and the thread reconnects by itself.

Requests (decide, pause, preview...) run on one worker thread, each on its own
connection, and are sent exactly once: a decision whose answer was lost is reported
as lost, never repeated. Nothing here blocks the GUI thread.
"""

from __future__ import annotations

import json
import select
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

from PySide6.QtCore import QObject, Signal

from app.client import ServiceError, connect
from app.paths import Paths
from app.ui import rows

FLUSH_S = 0.05
RETRY_S = (0.2, 0.5, 1.0, 2.0)


@dataclass(frozen=True)
class Reply:
    """The answer to one request: `data` on success, else `error` (a sentence)."""

    token: int
    op: str
    fields: tuple[tuple[str, Any], ...]
    ok: bool
    data: Any = None
    error: str = ""


class Bridge(QObject):
    """Signals carry plain frozen data only (`rows.State`, `rows.Change`, `Reply`)."""

    state = Signal(object)  # rows.State
    changes = Signal(object)  # tuple[rows.Change, ...] since the last state
    replied = Signal(object)  # Reply

    def __init__(self, paths: Paths, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.paths = paths
        self._stop = threading.Event()
        self._wake_r, self._wake_w = socket.socketpair()
        self._reader: threading.Thread | None = None
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sandgate-request")
        self._tokens = 0
        self.last = rows.State()

    # --- the watch stream ----------------------------------------------------------------

    def start(self) -> None:
        """Start watching (and reconnecting) on the reader thread."""
        if self._reader is None:
            self._reader = threading.Thread(target=self._run, name="sandgate-watch", daemon=True)
            self._reader.start()

    def stop(self) -> None:
        """Stop the reader and the request worker; waits a moment for both."""
        self._stop.set()
        self._wake_w.send(b"x")
        if self._reader is not None:
            self._reader.join(timeout=2)
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _run(self) -> None:
        attempt = 0
        while not self._stop.is_set():
            try:
                if self._watch_once():
                    attempt = 0
            except (OSError, ValueError, ServiceError):
                pass
            if self._stop.is_set():
                return
            if self.last.connected or not self.last.stale:
                self.last = replace(self.last, connected=False, stale=True)
                self.state.emit(self.last)
            self._stop.wait(RETRY_S[min(attempt, len(RETRY_S) - 1)])
            attempt += 1

    def _watch_once(self) -> bool:
        """One watch connection, until it ends. True if it was ever established."""
        client = connect(self.paths)
        if client is None:
            return False
        sock = client._sock
        try:
            sock.sendall(b'{"op":"watch"}\n')
            buffer = b""
            current: rows.State | None = None
            pending: list[rows.Change] = []
            dirty_since: float | None = None
            while not self._stop.is_set():
                timeout = None
                if dirty_since is not None:
                    timeout = max(0.0, dirty_since + FLUSH_S - time.monotonic())
                ready, _, _ = select.select([sock, self._wake_r], [], [], timeout)
                if sock in ready:
                    data = sock.recv(1 << 16)
                    if not data:
                        return current is not None
                    buffer += data
                    *lines, buffer = buffer.split(b"\n")
                    for line in lines:
                        if not line.strip():
                            continue
                        raw = json.loads(line)
                        if current is None:
                            if not raw.get("ok"):
                                raise ServiceError(str(raw.get("error", "watch refused")))
                            current = rows.state(
                                raw.get("state") or {},
                                int(raw.get("seq", 0)),
                                str(raw.get("instance") or ""),
                            )
                            self.last = current
                            self.state.emit(current)
                            continue
                        current, change = rows.fold(current, raw)
                        pending.append(change)
                        if dirty_since is None:
                            dirty_since = time.monotonic()
                due = dirty_since is not None and time.monotonic() >= dirty_since + FLUSH_S
                if current is not None and due:
                    self.last = current
                    self.state.emit(current)
                    self.changes.emit(tuple(pending))
                    pending, dirty_since = [], None
            return current is not None
        finally:
            client.close()

    # --- requests ------------------------------------------------------------------------

    def request(self, op: str, **fields: Any) -> int:
        """Send `op` once, off the GUI thread; the answer arrives as `replied`."""
        self._tokens += 1
        token = self._tokens
        self._pool.submit(self._send, token, op, fields)
        return token

    def _send(self, token: int, op: str, fields: dict[str, Any]) -> None:
        frozen = tuple(sorted(fields.items()))
        try:
            client = connect(self.paths)
        except OSError as exc:
            client = None
            reason = str(exc)
        else:
            reason = "the Sandgate service is not running"
        if client is None:
            self.replied.emit(Reply(token, op, frozen, False, error=f"not sent: {reason}"))
            return
        try:
            with client:
                data = client.request(op, **fields)
        except ServiceError as exc:
            self.replied.emit(Reply(token, op, frozen, False, error=str(exc)))
            return
        self.replied.emit(Reply(token, op, frozen, True, data=data))
