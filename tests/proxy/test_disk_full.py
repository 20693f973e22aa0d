"""Issue 9: with the disk full, requests went out and none was recorded. A session that
cannot be recorded does not get network: the request whose record fails is refused, so
is every request after it, the reason reaches the agent (in the 403) and the person (a
line from `sandgate run`, and the service's log), and network comes back once a record
can be written again.

The disk is real: the service's data folder (its SQLite database) is a 3 MB tmpfs that
the test fills to the last page, so SQLite itself answers "database or disk is full".
Mounting needs root; elsewhere the test is skipped."""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.proxy.conftest import Servers, serving

if shutil.which("bwrap") is None or shutil.which("socat") is None:  # pragma: no cover
    pytest.skip("needs bubblewrap and socat", allow_module_level=True)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 3 MB tmpfs: a disk that fills."""
    mount = tmp_path / "small-disk"
    mount.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mount)])
    if done.returncode != 0:
        pytest.skip("could not mount a small tmpfs here")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def _fill(folder: Path) -> Path:
    """Write a file until the filesystem has not one page left."""
    filler = folder / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for size in (1 << 16, 4096, 512, 1):
            with contextlib.suppress(OSError):
                while True:
                    os.write(fd, b"\0" * size)
    finally:
        os.close(fd)
    return filler


@pytest.fixture
def service(short_runtime: Path, small_disk: Path, monkeypatch, servers: Servers) -> Iterator[Any]:
    monkeypatch.setenv("XDG_DATA_HOME", str(small_disk))
    port = servers.http.port
    with serving(
        "version: 1\n"
        "network:\n"
        f"  allow: [api.example.test, '127.0.0.1:{port}']\n"
        "  resolve: {api.example.test: 127.0.0.1}\n"
    ) as thread:
        yield thread


def _watching(thread: Any) -> bool:
    return any(w.session for w in thread.runtime.parts.changes.watchers)


def test_a_full_disk_stops_the_network_and_says_why(
    service: Any, servers: Servers, small_disk: Path, tmp_path: Path, caplog
) -> None:
    port = servers.http.port
    url = f"http://api.example.test:{port}"
    workspace = tmp_path / "ws"
    workspace.mkdir()
    (workspace / "upload").write_bytes(os.urandom(200_000))
    script = f"""
        curl -sS {url}/disk-before >/dev/null
        while [ ! -e full ]; do sleep 0.05; done
        curl -sS -i --data-binary @upload {url}/disk-full-upload > refused-1
        curl -sS -i {url}/disk-full-get > refused-2
        touch answered
        while [ ! -e freed ]; do sleep 0.05; done
        for i in 1 2 3; do
            curl -sS -f {url}/disk-after-$i > after && break
        done
    """
    caplog.set_level(logging.WARNING, logger="app.service.record_health")
    agent = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "run", "--", "sh", "-c", script],
        cwd=workspace, env=dict(os.environ), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not (
            "/disk-before" in servers.http.paths() and _watching(service)
        ):
            time.sleep(0.02)
        assert "/disk-before" in servers.http.paths(), "the first request never went out"
        filler = _fill(small_disk)
        (workspace / "full").touch()
        while time.monotonic() < deadline + 30 and not (workspace / "answered").exists():
            time.sleep(0.02)
        filler.unlink()
        (workspace / "freed").touch()
        _out, err = agent.communicate(timeout=60)
    finally:
        agent.kill()
    database = str(small_disk / "sandgate" / "sandgate.db")
    for name in ("refused-1", "refused-2"):
        reply = (workspace / name).read_text(errors="replace")
        head = reply.split("\r\n\r\n", 1)[0]
        assert head.startswith("HTTP/1.1 403"), (name, reply[:300])
        assert f"X-Sandgate-Reason: cannot record to {database}" in head, head
        assert "(database or disk is full)" in head
    seen = servers.http.paths()
    assert "/disk-full-upload" not in seen and "/disk-full-get" not in seen
    # The agent's terminal heard it, and heard when the network came back.
    assert f"sandgate: cannot record to {database} (database or disk is full)" in err, err
    assert f"sandgate: recording to {database} again: network is back" in err, err
    assert any(p.startswith("/disk-after-") for p in seen), (seen, err)
    assert (workspace / "after").read_text().startswith("hello from api.example.test")
    logged = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert any("database or disk is full" in m and database in m for m in logged), logged


def test_a_session_that_cannot_be_recorded_does_not_start(
    service: Any, small_disk: Path, tmp_path: Path
) -> None:
    workspace = tmp_path / "ws"
    workspace.mkdir()

    def run_in_sandbox(*command: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "app.cli", "run", "--", *command],
            cwd=workspace, env=dict(os.environ), capture_output=True, text=True, timeout=60,
        )  # fmt: skip

    assert run_in_sandbox("true").returncode == 0  # the proxy's CA is made, on the disk
    filler = _fill(small_disk)
    try:
        run = run_in_sandbox("touch", "ran")
    finally:
        filler.unlink()
    database = str(small_disk / "sandgate" / "sandgate.db")
    assert run.returncode != 0
    assert run.stderr.strip() == (
        f"sandgate: the database {database} cannot record this session "
        "(database or disk is full), so it does not start"
    ), run.stderr
    assert not (workspace / "ran").exists()
    assert not service.runtime.parts.sessions.live
