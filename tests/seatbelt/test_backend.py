"""One interface, the backend chosen by platform: bwrap on Linux, Seatbelt on macOS."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from sandbox.backend import backend_name, seatbelt_preflight
from sandbox.filesystem import PlanError
from sandbox.plan import SandboxPlan

from .conftest import World


def test_platform_decides() -> None:
    assert backend_name("linux") == "bwrap"
    assert backend_name("darwin") == "seatbelt"
    with pytest.raises(PlanError, match="no sandbox for this platform"):
        backend_name("win32")  # fails closed: no unsandboxed fallback


@pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed")
def test_linux_gets_bwrap(plain: World) -> None:
    plan = plain.plan(platform="linux")
    assert isinstance(plan, SandboxPlan)
    assert any(Path(arg).name == "bwrap" for arg in plan.argv[:5])
    assert "--unshare-all" in plan.argv


def test_darwin_gets_seatbelt_built_not_run(plain: World) -> None:
    plan = plain.plan(platform="darwin", program="/opt/custom/sandbox-exec")
    assert plan.argv[0] == "/opt/custom/sandbox-exec"
    assert plan.argv[1] == "-p" and plan.argv[2].startswith("(version 1)\n(deny default")
    assert plan.argv[3:] == ("/bin/echo", "hi")
    assert plan.cwd == plain.workspace
    assert plan.protected_snapshot.workspace == plain.workspace


def test_same_plan_shape_both_ways(plain: World) -> None:
    darwin = plain.plan(platform="darwin")
    assert set(darwin.visible) >= {str(plain.workspace)} and darwin.visible[str(plain.workspace)]
    assert darwin.memory_files and darwin.removed_env == ()


def test_seatbelt_preflight(tmp_path: Path) -> None:
    with pytest.raises(PlanError, match="sandbox-exec ships with macOS"):
        seatbelt_preflight(str(tmp_path / "sandbox-exec"))
    fake = tmp_path / "sandbox-exec"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    assert seatbelt_preflight(str(fake)) == str(fake)
