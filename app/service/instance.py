"""One service per user: an exclusive lock beside the socket, held while the service runs.

The lock (not the socket file) decides, so a socket left behind by a crash never blocks
a new service, and two services starting at once cannot both bind.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path


class AlreadyRunning(Exception):
    """Another Sandgate service of this user holds the lock."""


class InstanceLock:
    """Hold `path` exclusively until `release()` (or the process ends)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise AlreadyRunning(f"a Sandgate service is already running (lock {path})") from None
        self._fd: int | None = fd

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
