"""One tray per user: the first start owns a lock and listens; a second one hands over.

The lock (`flock` on `tray.lock` in the runtime folder) decides who is first even when
two start at the same moment; the first listens on `tray.sock`, and a later start
connects there, asks it to bring its inbox forward, and exits.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

from PySide6.QtCore import QObject
from PySide6.QtNetwork import QLocalServer, QLocalSocket

from app.paths import Paths


def lock_path(paths: Paths) -> Path:
    return paths.runtime / "tray.lock"


def socket_path(paths: Paths) -> Path:
    return paths.runtime / "tray.sock"


def acquire(paths: Paths) -> IO[bytes] | None:
    """The instance lock's open file if this is the first tray, else None."""
    paths.runtime.mkdir(parents=True, exist_ok=True, mode=0o700)
    handle = open(lock_path(paths), "ab")  # noqa: SIM115 - held for the process's life
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    return handle


def hand_over(paths: Paths, wait: float = 10.0) -> bool:
    """Ask the running tray to show its inbox; True once it has been told."""
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.socket(socket.AF_UNIX) as sock:
            sock.settimeout(2)
            sock.connect(str(socket_path(paths)))
            sock.sendall(b"show\n")
            return sock.recv(16).startswith(b"ok")
        time.sleep(0.05)  # the first tray is still starting up
    return False


class InstanceServer(QObject):
    """Listens for later starts; calls `on_show` for each."""

    def __init__(self, paths: Paths, on_show: Callable[[], None]) -> None:
        super().__init__()
        self.on_show = on_show
        self.server = QLocalServer(self)
        self.server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        path = socket_path(paths)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)  # ours: we hold the lock
        if not self.server.listen(str(path)):
            raise OSError(f"cannot listen on {path}: {self.server.errorString()}")
        self.server.newConnection.connect(self._accept)

    def _accept(self) -> None:
        while self.server.hasPendingConnections():
            conn = self.server.nextPendingConnection()
            conn.readyRead.connect(lambda c=conn: self._read(c))

    def _read(self, conn: QLocalSocket) -> None:
        if conn.canReadLine() and bytes(conn.readLine().data()).strip() == b"show":
            conn.write(b"ok\n")
            conn.flush()
            conn.disconnectFromServer()
            self.on_show()

    def close(self) -> None:
        self.server.close()
