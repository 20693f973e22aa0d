"""The Seatbelt backend for real: the profile applied by `sandbox-exec` on a Mac.

Marked `macos` and skipped elsewhere (this suite's Linux run checks the same rules as
text in test_profile.py); a macOS runner runs them with `pytest -m macos`.
"""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from sandbox.plan import SandboxPlan

from .conftest import World

pytestmark = [
    pytest.mark.macos,
    pytest.mark.skipif(sys.platform != "darwin", reason="needs macOS: runs sandbox-exec"),
]


def _run(world: World, script: str, **options: object) -> subprocess.CompletedProcess[str]:
    plan: SandboxPlan = world.plan(["/bin/sh", "-c", script], **options)
    return subprocess.run(
        plan.argv, env=dict(plan.env), cwd=plan.cwd, capture_output=True, text=True, timeout=30
    )


def test_write_in_workspace_and_not_outside(world: World) -> None:
    outside = world.workspace.parent / "outside.txt"
    done = _run(world, f"echo ok > inside.txt; echo no > '{outside}'; true")
    assert (world.workspace / "inside.txt").read_text() == "ok\n"
    assert not outside.exists(), done.stderr


def test_credentials_and_home_unreadable(world: World) -> None:
    (world.home / ".aws").mkdir()
    (world.home / ".aws" / "credentials").write_text("[default]\nreal-secret\n")
    (world.home / "notes.txt").write_text("private\n")
    (world.workspace / ".env").write_text("KEY=real\n")
    done = _run(world, "cat ~/.aws/credentials ~/notes.txt .env; ls ~; true")
    assert "real" not in done.stdout and "private" not in done.stdout
    assert "Operation not permitted" in done.stderr


def test_symlink_out_of_the_workspace_not_written_through(plain: World, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (plain.workspace / "link").symlink_to(outside)
    done = _run(plain, "echo x > link/f; true")
    assert not (outside / "f").exists(), done.stderr


def test_protected_file_not_written(plain: World) -> None:
    (plain.workspace / ".git" / "hooks").mkdir(parents=True)
    done = _run(plain, "echo x > .git/hooks/pre-commit; echo y > src.py; true")
    assert not (plain.workspace / ".git" / "hooks" / "pre-commit").exists(), done.stderr
    assert (plain.workspace / "src.py").read_text() == "y\n"


def test_no_network_without_proxy(plain: World) -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]
    try:
        done = _run(plain, f"nc -z -w 2 127.0.0.1 {port} && echo reached; true")
    finally:
        server.close()
    assert "reached" not in done.stdout


def test_long_profile_through_a_file(plain: World) -> None:
    plain.policy_yaml = "version: 1\ndeny:\n" + "".join(
        f"  - ~/secret-{i:04d}-{'x' * 40}/**\n" for i in range(800)
    )
    done = _run(plain, "echo ran")
    assert done.stdout == "ran\n", done.stderr
