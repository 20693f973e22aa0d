"""A real service (real triage, real bwrap) for the hook tests."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.paths import Paths
from app.service.runtime import start_in_thread


@pytest.fixture
def service(isolated_env: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Paths]:
    """The whole service in a thread of this process, for the hook and `sandgate run`."""
    # A short runtime folder, as a real XDG_RUNTIME_DIR is: the proxy's per-session
    # sockets must fit AF_UNIX's limit, which pytest's temporary paths exceed.
    runtime = Path(tempfile.mkdtemp(prefix="sg"))
    runtime.chmod(0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    paths = Paths.from_environment().ensure()
    thread = start_in_thread(paths)
    yield paths
    thread.stop()
    shutil.rmtree(runtime, ignore_errors=True)


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    folder = tmp_path / "work"
    folder.mkdir()
    return folder
