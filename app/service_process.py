"""The service in a process of its own, started by the tray when none runs.

The tray and the service share nothing but the socket, so the service runs apart: its
work (a thousand requests a second in a burst) never holds the interpreter the tray
draws with, and a tray that crashes takes no held request with it. Started with
`--until-idle`, it stops by itself once no session is open and nothing watches it: the
service a tray started keeps running while sessions need it, and no longer.
"""

from __future__ import annotations

import subprocess
import sys
import time

from app.client import Client, ServiceError, connect

TYPE_CHECKING = False
if TYPE_CHECKING:
    from app.paths import Paths

IDLE_S = 5.0  # no session and no watcher this long: the started service stops


def command(idle: float = IDLE_S) -> list[str]:
    """How to run `sandgate service --until-idle`, from a source tree or a bundle."""
    if getattr(sys, "frozen", False):  # a bundle: the executable is `sandgate` itself
        return [sys.executable, "service", "--until-idle", str(idle)]
    return [sys.executable, "-m", "app.cli", "service", "--until-idle", str(idle)]


def log_path(paths: Paths) -> str:
    return str(paths.state / "service.log")


def spawn(paths: Paths, wait: float = 15.0) -> tuple[Client, subprocess.Popen[bytes] | None]:
    """A client to the running service, starting one in its own process if none runs.
    The process is None when one was already running. Raises ServiceError, with the
    service's own words, if it cannot start. Its output goes to `service.log` in the
    state folder (never to a pipe: it outlives the tray)."""
    client = connect(paths)
    if client is not None:
        return client, None
    paths.state.mkdir(parents=True, exist_ok=True, mode=0o700)
    log_file = log_path(paths)
    with open(log_file, "ab") as log:
        start = log.tell()
        process: subprocess.Popen[bytes] | None = subprocess.Popen(
            command(), stdin=subprocess.DEVNULL, stdout=log, stderr=log,
            start_new_session=True,  # a Ctrl-C meant for the tray's terminal is not its
        )  # fmt: skip
    deadline = time.monotonic() + wait
    while True:
        client = connect(paths)
        if client is not None:
            return client, process
        code = process.poll() if process is not None else None
        if code is not None:
            said = _said_since(log_file, start)
            if code != 1 or "already running" not in said:
                last = said.strip().splitlines()[-1:] or [f"it exited with status {code}"]
                raise ServiceError(f"the Sandgate service did not start: {last[0]}")
            process = None  # another process is starting one this moment: wait for it
        if time.monotonic() > deadline:
            if process is not None:
                process.terminate()
            raise ServiceError(f"no Sandgate service answered at {paths.socket}")
        time.sleep(0.05)


def _said_since(log_file: str, start: int) -> str:
    with open(log_file, "rb") as log:
        log.seek(start)
        return log.read().decode(errors="replace")
