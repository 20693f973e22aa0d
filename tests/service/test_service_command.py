"""`sandgate service` as a real process: one per user, stops on SIGTERM, prunes on start."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from app.client import connect
from app.paths import Paths
from app.service.store import Store


def _start(*extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "app.cli", "service", *extra],
        env=dict(os.environ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for_socket(paths: Paths, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 20
    while connect(paths) is None:
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the service did not start"
        time.sleep(0.05)


def test_one_service_per_user_and_sigterm_stops_it(paths: Paths) -> None:
    first = _start()
    try:
        _wait_for_socket(paths, first)
        second = _start()
        out, err = second.communicate(timeout=20)
        assert second.returncode == 1
        assert "already running" in err
        client = connect(paths)  # the first one still answers
        assert client is not None
        assert client.request("ping")["pid"] == first.pid
        client.close()
    finally:
        first.send_signal(signal.SIGTERM)
        out, _ = first.communicate(timeout=20)
    assert first.returncode == 0
    assert str(paths.socket) in out and str(paths.database) in out
    assert not paths.socket.exists()


def test_start_up_prunes_history_older_than_the_retention(paths: Paths) -> None:
    store = Store(paths.database)
    store.open_session("old", "/w", ["a"], started=1000.0)
    store.end_session("old", 0, ended=1001.0)
    store.add_event("old", {"kind": "file.read", "path": "/x"}, ts=1000.0)
    store.open_session("new", "/w", ["a"])
    store.add_event("new", {"kind": "file.read", "path": "/y"})
    store.close()
    service = _start("--retention-days", "30")
    try:
        _wait_for_socket(paths, service)
        client = connect(paths)
        assert client is not None
        rows = client.request("history")["rows"]
        client.close()
    finally:
        service.send_signal(signal.SIGINT)
        service.communicate(timeout=20)
    assert [r["path"] for r in rows] == ["/y"]


def test_sigterm_with_clients_still_connected_stops_cleanly(paths: Paths) -> None:
    """A tray or `queue --follow` still connected is told by EOF; the service's own
    clean-up runs and nothing is logged as an error."""
    process = _start()
    try:
        _wait_for_socket(paths, process)
        lingering = [connect(paths) for _ in range(3)]
        for client in lingering:
            assert client is not None
            client.request("ping")
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0
    assert "Traceback" not in err and "Error" not in err, err
