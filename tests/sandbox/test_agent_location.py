"""An agent installed where the sandbox shows nothing is found and runs."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from sandbox.plan import PlanError

if TYPE_CHECKING:
    from tests.sandbox.conftest import Box

SYSTEM_PATH = "/usr/local/bin:/usr/bin:/bin"


def _run(box: Box, command: list[str], path: str) -> subprocess.CompletedProcess[str]:
    plan = box.plan(command, env={"PATH": f"{path}:{SYSTEM_PATH}"})
    return subprocess.run(plan.argv, env=dict(plan.env), capture_output=True, text=True, timeout=30)


def test_an_agent_in_a_venv_under_tmp_is_found_with_its_python_and_packages(
    box: Box, tmp_path: Path
) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = next((venv / "lib").glob("python*/site-packages"))
    (site / "agentlib.py").write_text("WHO = 'agent from the venv'\n")
    agent = venv / "bin" / "venv-agent"
    agent.write_text(
        f"#!{venv}/bin/python\nimport agentlib, sys\nprint(agentlib.WHO, sys.prefix)\n"
    )
    agent.chmod(0o755)
    result = _run(box, ["venv-agent"], str(venv / "bin"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"agent from the venv {venv}"
    plan = box.plan(["venv-agent"], env={"PATH": f"{venv}/bin:{SYSTEM_PATH}"})
    assert any(str(venv) in notice for notice in plan.notices)
    # Only the venv is shown of the temporary folder, read-only.
    (tmp_path / "other.txt").write_text("not for the agent")
    probe = _run(box, ["sh", "-c", f"cat {tmp_path}/other.txt; echo x > {venv}/x"], "")
    assert "not for the agent" not in probe.stdout and not (venv / "x").exists()


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node")
def test_an_agent_from_an_npm_prefix_in_the_home_is_found(box: Box) -> None:
    prefix = box.home / ".npm-global"
    package = prefix / "lib" / "node_modules" / "fake-agent"
    package.mkdir(parents=True)
    (package / "lib.js").write_text("module.exports = 'agent from the npm prefix';\n")
    cli = package / "cli.js"
    cli.write_text("#!/usr/bin/env node\nconsole.log(require('./lib.js'));\n")
    cli.chmod(0o755)
    (prefix / "bin").mkdir()
    (prefix / "bin" / "fake-agent").symlink_to("../lib/node_modules/fake-agent/cli.js")
    result = _run(box, ["fake-agent"], str(prefix / "bin"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "agent from the npm prefix"


def test_an_agent_under_an_nvm_node_in_the_home_is_found(box: Box) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("needs node")
    root = box.home / ".nvm" / "versions" / "node" / "v1"
    (root / "bin").mkdir(parents=True)
    (root / "bin" / "node").symlink_to(node)  # stands for nvm's own copy of node
    script = root / "lib" / "node_modules" / "nv-agent" / "index.js"
    script.parent.mkdir(parents=True)
    script.write_text("#!/usr/bin/env node\nconsole.log('nvm agent', process.execPath);\n")
    script.chmod(0o755)
    (root / "bin" / "nv-agent").symlink_to("../lib/node_modules/nv-agent/index.js")
    result = _run(box, ["nv-agent"], str(root / "bin"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("nvm agent")


def test_an_agent_behind_a_pyenv_shim_is_found_with_the_whole_pyenv_root(box: Box) -> None:
    root = box.home / ".pyenv"
    (root / "shims").mkdir(parents=True)
    (root / "libexec").mkdir()
    (root / "libexec" / "pyenv").write_text('#!/bin/sh\necho "pyenv runs $2"\n')
    (root / "libexec" / "pyenv").chmod(0o755)
    shim = root / "shims" / "shim-agent"
    shim.write_text(f'#!/usr/bin/env sh\nexec "{root}/libexec/pyenv" exec shim-agent "$@"\n')
    shim.chmod(0o755)
    result = _run(box, ["shim-agent"], str(root / "shims"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "pyenv runs shim-agent"


def test_an_unfindable_agent_is_refused_with_the_path_to_give_or_trust(box: Box) -> None:
    with pytest.raises(PlanError, match=r"not on your PATH.*trusted: \[FOLDER\]"):
        box.plan(["no-such-agent"])
    hidden = box.home / ".ssh" / "bin"
    hidden.mkdir(parents=True)
    (hidden / "ssh-agent-tool").write_text("#!/bin/sh\necho hi\n")
    (hidden / "ssh-agent-tool").chmod(0o755)
    with pytest.raises(PlanError, match=r"never shows \(deny: ~/\.ssh/\*\*\)"):
        box.plan(["ssh-agent-tool"], env={"PATH": f"{hidden}:{SYSTEM_PATH}"})
