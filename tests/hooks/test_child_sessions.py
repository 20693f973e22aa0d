"""Child sessions: a `sandgate run` inside a sandbox, and an agent's sub-agents, keep
their parent's sandbox and policy, can narrow their writes, and cannot decide anything."""

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
    assert "narrow its writes with --workspace DIR" in run.stderr
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


def test_a_child_can_narrow_its_writes_to_a_folder_and_never_widen_them(
    service: Paths, workspace: Path
) -> None:
    """`--workspace DIR` inside a sandbox confines the child's writes to DIR (Landlock):
    the parent's workspace beside it stays out of reach for the child and all it starts,
    the parent keeps writing, and the child cannot signal the processes outside it."""
    from sandbox.landlock import abi

    if abi() < 1:
        pytest.skip("this kernel has no Landlock")
    (workspace / "sub").mkdir()
    (workspace / "child.sh").write_text(
        "echo in > sub/a; echo out > b; echo b=$?; sh -c 'echo deeper > c'; echo c=$?\n"
        "mv sub/a moved; echo mv=$?; echo scratch > $TMPDIR/t; echo tmp=$?\n"
        "echo stray > /tmp/stray; echo stray=$?\n"
        "kill -0 $(cat pid); echo kill=$?\n"
    )
    script = f"echo $$ > pid; {INNER} run --workspace sub -- sh child.sh; echo after > b"
    run = sandgate("run", "--", "sh", "-c", script, cwd=workspace)
    assert run.returncode == 0, run.stderr
    assert (workspace / "sub" / "a").exists(), run.stdout + run.stderr
    assert (workspace / "sub" / "a").read_text() == "in\n"
    assert "b=2" in run.stdout and "c=2" in run.stdout and "mv=1" in run.stdout
    assert "tmp=0" in run.stdout, "the child's own scratch folder is writable"
    assert "stray=2" in run.stdout, "the rest of /tmp is not: a workspace may lie beneath it"
    assert not (workspace / "moved").exists() and not (workspace / "c").exists()
    assert (workspace / "b").read_text() == "after\n", "the parent still writes"
    if abi() >= 6:
        assert "kill=1" in run.stdout, "a narrowed child cannot signal its parent"
    assert "writing only in" in run.stderr


def test_a_child_narrowed_to_a_missing_folder_runs_nothing(service: Paths, workspace: Path) -> None:
    script = f"{INNER} run --workspace nowhere -- sh -c 'echo ran'; echo rc=$?"
    run = sandgate("run", "--", "sh", "-c", script, cwd=workspace)
    assert "rc=2" in run.stdout and "ran" not in run.stdout
    assert "--workspace nowhere: no such folder" in run.stderr
