"""The service's pushed changes through the whole chain: a real `sandgate run` sandbox
asking for an unknown destination through the real proxy; `sandgate run`'s waiting and
decided lines, `sandgate queue --follow`, and decisions and held requests written to
the database before anything is acknowledged (checked by kill -9 of the service)."""

from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.proxy.conftest import Servers
from tests.proxy.test_service_egress import sandgate, service  # noqa: F401 (a fixture, used by name)

if shutil.which("bwrap") is None or shutil.which("socat") is None:  # pragma: no cover
    pytest.skip("needs bubblewrap and socat", allow_module_level=True)


class Lines:
    """A child's output read on a thread, so a test can wait for a line."""

    def __init__(self, stream: Any) -> None:
        self.seen: list[str] = []
        self._new: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream: Any) -> None:
        for line in stream:
            self.seen.append(line)
            self._new.put(line)

    def wait_for(self, text: str, within: float = 30.0) -> str:
        deadline = time.monotonic() + within
        while True:
            for line in self.seen:
                if text in line:
                    return line
            try:
                self._new.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no line with {text!r} in {self.seen}") from None


def _agent(workspace: Path, script: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "app.cli", "run", "--", "sh", "-c", script],
        cwd=workspace, env=dict(os.environ), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, start_new_session=True,
    )  # fmt: skip


def _pending(within: float = 20.0, members: int = 1) -> dict[str, Any]:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        listed = json.loads(sandgate("queue", "--json").stdout or "[]")
        for batch in listed:
            waiting = [m for m in batch["members"] if m["waiting"]]
            if batch["state"] == "pending" and len(waiting) >= members:
                return dict(batch)
        time.sleep(0.1)
    raise AssertionError("no request reached the queue")


def _stop(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(10)


@pytest.mark.usefixtures("service")
def test_run_says_when_a_request_waits_and_when_it_is_decided(
    servers: Servers, tmp_path: Path
) -> None:
    workspace = tmp_path / "ws"
    workspace.mkdir()
    agent = _agent(workspace, f"curl -sS http://outside.test:{servers.http.port}/told")
    err = Lines(agent.stderr)
    try:
        line = err.wait_for("waiting for your decision")
        assert "outside.test" in line and "sandgate queue" in line
        batch = _pending()
        assert sandgate("decide", batch["batch"], "allow").returncode == 0
        assert "outside.test: allowed (once) by a person" in err.wait_for("allowed")
        out, _ = agent.communicate(timeout=30)
    finally:
        _stop(agent)
    assert "hello from outside.test" in out
    assert sum("waiting for your decision" in line for line in err.seen) == 1


@pytest.mark.usefixtures("service")
def test_run_says_a_request_was_denied_while_asking_is_paused(
    servers: Servers, tmp_path: Path
) -> None:
    from app.client import connect
    from app.paths import Paths

    workspace = tmp_path / "ws"
    workspace.mkdir()
    client = connect(Paths.from_environment())
    assert client is not None
    with client:
        client.request("pause")
        try:
            url = f"http://outside.test:{servers.http.port}/while-paused"
            run = sandgate("run", "--", "curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}",
                           url, cwd=workspace)  # fmt: skip
        finally:
            client.request("resume")
    assert run.stdout == "403", run.stdout + run.stderr
    assert "outside.test: denied at once, asking is paused" in run.stderr
    assert "/while-paused" not in servers.http.paths()


@pytest.mark.usefixtures("service")
def test_queue_follow_prints_the_stream(servers: Servers, tmp_path: Path) -> None:
    follow = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "queue", "--follow"], env=dict(os.environ),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    out = Lines(follow.stdout)
    workspace = tmp_path / "ws"
    workspace.mkdir()
    try:
        out.wait_for("No batches are waiting.")
        agent = _agent(workspace, f"curl -sS http://outside.test:{servers.http.port}/followed")
        try:
            out.wait_for("> session")
            waiting = out.wait_for("waiting:")
            assert f"outside.test:{servers.http.port}/followed" in waiting
            batch = _pending()
            sandgate("decide", batch["batch"], "deny")
            decided = out.wait_for(f"= {batch['batch']}  deny (once) by user")
            assert "1 request(s) released" in decided
            agent.communicate(timeout=30)
            out.wait_for("< session")
        finally:
            _stop(agent)
    finally:
        follow.send_signal(signal.SIGINT)
        follow.wait(10)


@pytest.fixture
def service_process(
    isolated_env: Path, monkeypatch: pytest.MonkeyPatch, servers: Servers
) -> Iterator[tuple[subprocess.Popen[bytes], Any]]:
    """`sandgate service` in a process of its own, for killing."""
    from app.paths import Paths

    runtime = Path(tempfile.mkdtemp(prefix="sg"))
    runtime.chmod(0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    paths = Paths.from_environment().ensure()
    paths.user_policy.write_text(
        "version: 1\nnetwork:\n"
        f"  allow: ['127.0.0.1:{servers.http.port}']\n"
        "  resolve: {outside.test: 127.0.0.1}\n  ask_timeout: 30\n"
    )
    process = subprocess.Popen([sys.executable, "-m", "app.cli", "service"], env=dict(os.environ))
    deadline = time.monotonic() + 20
    while not paths.socket.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    yield process, paths
    if process.poll() is None:
        process.kill()
    process.wait(10)
    shutil.rmtree(runtime, ignore_errors=True)


def test_held_requests_and_a_decision_survive_kill_9(
    service_process: Any, servers: Servers, tmp_path: Path
) -> None:
    from app.client import connect
    from app.service.store import Store

    process, paths = service_process
    port = servers.http.port
    workspace = tmp_path / "ws"
    workspace.mkdir()
    script = " & ".join(f"curl -sS http://outside.test:{port}/k{n}" for n in range(3)) + "; wait"
    agent = _agent(workspace, script)
    try:
        batch = _pending(members=3)
        # Held, not yet decided: each request is already in history.
        store = Store(paths.database)
        held = [r for r in store.history() if r.host == "outside.test"]
        assert len(held) == 3 and all(r.decision is None for r in held), held
        store.close()
        client = connect(paths)
        assert client is not None
        with client:
            reply = client.request("decide", batch=batch["batch"], decision="deny")
            os.kill(process.pid, signal.SIGKILL)  # right after the answer
        assert reply["released"] == 3
        process.wait(10)
    finally:
        _stop(agent)
    store = Store(paths.database)
    rows = [r for r in store.history() if r.host == "outside.test"]
    store.close()
    assert len(rows) == 3
    assert {(r.decision, r.decided_by) for r in rows} == {("deny", "user")}, rows
