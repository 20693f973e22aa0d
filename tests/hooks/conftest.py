"""A real service (real triage, real bwrap) for the hook tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.paths import Paths


@pytest.fixture
def service(real_service: Paths) -> Paths:
    """The whole service in a thread of this process, for the hook and `sandgate run`."""
    return real_service


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    folder = tmp_path / "work"
    folder.mkdir()
    return folder
