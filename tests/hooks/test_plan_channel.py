"""The sandbox plan binds a session's channel only when the service made one."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from app.service.channel import bind_unix
from sandbox.bwrap import CHANNEL_FILE, SANDBOX_CHANNEL_SOCKET
from sandbox.plan import build_plan
from sandbox.policy import load_policy


def _plan(session_dir: Path, workspace: Path, home: Path, resources: Path):  # type: ignore[no-untyped-def]
    policy = load_policy(resources / "policy" / "default.yaml", workspace=workspace, home=home)
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home), "PWD": str(workspace)}
    return build_plan(policy, workspace, home, session_dir, ["true"], env, lambda *_: "sgc-x")


def _pairs(argv: tuple[str, ...], flag: str) -> list[tuple[str, str]]:
    return [(argv[i + 1], argv[i + 2]) for i, word in enumerate(argv) if word == flag]


def test_the_channel_is_bound_with_sandgate_read_only_when_it_exists(
    isolated_env: Path, tmp_path: Path, resources: Path
) -> None:
    workspace = tmp_path / "ws"
    workspace.mkdir()
    session_dir = tmp_path / "state" / "s1"
    session_dir.mkdir(parents=True)
    without = _plan(session_dir, workspace, isolated_env, resources)
    assert "SANDGATE_CHANNEL" not in without.env
    assert SANDBOX_CHANNEL_SOCKET not in without.argv

    sock = bind_unix(session_dir / CHANNEL_FILE)
    try:
        plan = _plan(session_dir, workspace, isolated_env, resources)
    finally:
        sock.close()
    assert (str(session_dir / CHANNEL_FILE), SANDBOX_CHANNEL_SOCKET) in _pairs(plan.argv, "--bind")
    assert plan.env["SANDGATE_CHANNEL"] == SANDBOX_CHANNEL_SOCKET
    shown = {src for src, _ in _pairs(plan.argv, "--ro-bind")}
    source = str(Path(__file__).resolve().parents[2])
    for install in (os.path.realpath(sys.prefix), source):
        assert install in shown or install.startswith(("/usr/", "/opt/"))
    assert (session_dir / CHANNEL_FILE).stat().st_mode & 0o777 == 0o600
