"""The service checks bubblewrap before planning a session, so `sandgate run` refuses
with the reason and the fix, and never starts the agent unsandboxed."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.paths import Paths
from app.service.runtime import start_in_thread
from app.service.sandboxing import SandboxAdapter
from resources import resources_dir


@pytest.fixture
def service_with_bwrap(
    short_runtime: Path, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Paths]:
    """A service whose sandbox uses the bwrap named by the test: "missing" or "old"."""
    paths = Paths.from_environment().ensure()
    bwrap = str(tmp_path / "missing" / "bwrap")
    if request.param == "old":
        fake = tmp_path / "bwrap"
        fake.write_text("#!/bin/sh\necho bubblewrap 0.6.1\n")
        fake.chmod(0o755)
        bwrap = str(fake)
    adapter = SandboxAdapter(
        resources_dir() / "policy" / "default.yaml", paths.user_policy, bwrap=bwrap
    )
    thread = start_in_thread(paths, sandbox=adapter, extensions=())
    yield paths
    thread.stop()


@pytest.mark.parametrize(
    ("service_with_bwrap", "expected"),
    [("missing", "is not installed"), ("old", "is too old")],
    indirect=["service_with_bwrap"],
)
def test_run_refuses_without_a_usable_bubblewrap(
    service_with_bwrap: Paths, tmp_path: Path, expected: str
) -> None:
    workspace = tmp_path / "ws"
    workspace.mkdir()
    done = subprocess.run(
        [sys.executable, "-m", "app.cli", "run", "--", "sh", "-c", "touch ran"],
        cwd=workspace,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert expected in done.stderr and "bubblewrap" in done.stderr, done.stderr
    assert not (workspace / "ran").exists(), "the agent ran without its sandbox"
