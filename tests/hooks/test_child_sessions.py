"""Child sessions: a `sandgate run` inside a sandbox, and an agent's sub-agents, keep
their parent's sandbox and policy, and cannot decide anything."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from kit import SANDGATE, payload, sandgate, tool_rows

from app.paths import Paths

pytestmark = pytest.mark.skipif(shutil.which("bwrap") is None, reason="needs bubblewrap")
INNER = " ".join(SANDGATE)


def test_a_run_inside_a_sandbox_keeps_the_parents_sandbox(
    service: Paths, isolated_env: Path, workspace: Path
) -> None:
    secret = isolated_env / ".aws" / "credentials"
    secret.parent.mkdir()
    secret.write_text("[default]\naws_secret_access_key = REALSECRET\n")
    script = f"{INNER} run -- sh -c 'cat {secret}; exit 7'"
    run = sandgate("run", "--", "sh", "-c", script, cwd=workspace)
    assert run.returncode == 7, run.stderr  # the child's status comes through both
    assert "REALSECRET" not in run.stdout and "sgc" in run.stdout  # the parent's decoy
    assert "running under the parent session's policy" in run.stderr


def test_a_child_cannot_choose_another_policy_or_decide(service: Paths, workspace: Path) -> None:
    (workspace / "wide.yaml").write_text("version: 1\ntrusted:\n  - {path: ~/, mode: rw}\n")
    script = (
        f"{INNER} run --policy wide.yaml -- true; echo policy=$?; "
        f"{INNER} decide b1 allow --scope always; echo decide=$?; "
        f"{INNER} queue; echo queue=$?"
    )
    run = sandgate("run", "--", "sh", "-c", script, cwd=workspace)
    assert run.returncode == 0, run.stderr
    assert "policy=2" in run.stdout
    assert "cannot apply: a child session keeps its parent's sandbox" in run.stderr
    assert "decide=0" not in run.stdout and "queue=0" not in run.stdout


def test_sub_agents_and_child_runs_ask_as_their_parent_session(
    service: Paths, workspace: Path
) -> None:
    (workspace / "main.json").write_text(json.dumps(payload("claude-code-pretooluse-bash")))
    sub = payload("claude-code-pretooluse-read", agent_id="agent-7", agent_type="Explore")
    (workspace / "sub.json").write_text(json.dumps(sub))
    hook = f"{INNER} hook claude-code"
    script = f"{hook} < main.json && {INNER} run -- sh -c '{hook} < sub.json'"
    run = sandgate("run", "--", "sh", "-c", script, cwd=workspace)
    assert run.returncode == 0, run.stderr
    rows = tool_rows(service)
    assert len(rows) == 2
    assert rows[0]["session"] == rows[1]["session"]
    assert all(r["decision"] == "allow" for r in rows)
