"""A `sandgate run` that started the service in its own process keeps it up for the
sessions of other terminals that found it, instead of cutting them off when it ends."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.paths import Paths

pytestmark = pytest.mark.skipif(shutil.which("bwrap") is None, reason="needs bubblewrap")


def _run(script: str, workspace: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "app.cli", "run", "--", "sh", "-c", script],
        cwd=workspace,
        env=dict(os.environ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_the_first_run_waits_for_the_sessions_it_serves(
    short_runtime: Path, tmp_path: Path
) -> None:
    paths = Paths.from_environment()
    workspace = tmp_path / "ws"
    workspace.mkdir()
    # The first agent ends only once the second is running (both see the workspace),
    # so the second surely found the first's service, however slow the machine.
    first = _run(
        "i=0; while [ ! -e second-started ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done;"
        " echo first-done",
        workspace,
    )
    deadline = time.monotonic() + 20
    while not paths.socket.exists():
        assert time.monotonic() < deadline, "the first run never started a service"
        time.sleep(0.05)
    second = _run(
        "touch second-started; sleep 2; echo second-done > second.txt; echo second-done",
        workspace,
    )
    out1, err1 = first.communicate(timeout=30)
    out2, err2 = second.communicate(timeout=30)
    assert first.returncode == 0 and "first-done" in out1, err1
    assert "waiting for them to end" in err1
    # The second session ran to its end inside its sandbox, and was closed by its own run.
    assert second.returncode == 0, err2
    assert "second-done" in out2
    assert (workspace / "second.txt").read_text() == "second-done\n"
    assert "could not close the session" not in err2
    assert not paths.socket.exists(), "the service outlived the last session"
