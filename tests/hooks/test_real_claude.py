"""The real Claude Code, with the hook installed, against a stand-in Messages API.

Claude Code runs outside a sandbox here (the sandboxed run needs the egress proxy to
reach the stand-in on loopback), so its hook reaches the service socket. The stand-in
streams one tool call, then a text quoting the tool's result; the test decides the
held call in Sandgate's queue as a person would, and checks Claude Code obeyed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from kit import request, sandgate, tool_rows, wait_for_batch
from stand_in_api import StandInAPI

from app.paths import Paths

pytestmark = pytest.mark.skipif(shutil.which("claude") is None, reason="needs Claude Code")


def _claude(api: StandInAPI, workspace: Path) -> subprocess.Popen[str]:
    env = {
        **os.environ,  # the test's HOME (with the hook installed) and XDG folders
        "ANTHROPIC_BASE_URL": api.url,
        "ANTHROPIC_API_KEY": "sk-ant-stand-in",
        "DISABLE_AUTOUPDATER": "1",
        "DISABLE_TELEMETRY": "1",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
    }
    return subprocess.Popen(
        ["claude", "-p", "do the task", "--output-format", "json"],
        cwd=workspace,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _run(
    service: Paths, workspace: Path, tool: str, data: dict[str, Any], decision: str
) -> tuple[StandInAPI, dict[str, Any], dict[str, Any]]:
    with StandInAPI(tool, data) as api:
        claude = _claude(api, workspace)
        try:
            batch = wait_for_batch(service, timeout=60)
            request(service, "decide", batch=batch["batch"], decision=decision)
            out, err = claude.communicate(timeout=90)
        finally:
            if claude.poll() is None:
                claude.kill()
                claude.wait()
    assert claude.returncode == 0, err
    return api, json.loads(out), batch


@pytest.fixture
def installed(service: Paths, workspace: Path) -> Paths:
    done = sandgate("hook", "install", "claude-code", cwd=workspace)
    assert done.returncode == 0, done.stderr
    return service


def test_claude_code_obeys_a_denial_made_in_sandgates_queue(
    installed: Paths, workspace: Path
) -> None:
    data = {"command": "touch escaped", "dangerouslyDisableSandbox": True}
    api, result, batch = _run(installed, workspace, "Bash", data, "deny")
    assert not (workspace / "escaped").exists()
    assert any("Sandgate" in text and batch["batch"] in text for text in api.results)
    [row] = tool_rows(installed)
    assert (row["decision"], row["decided_by"]) == ("deny", "user")
    # The hook got Claude Code's real payload: its session, its tool call.
    [event] = _events(installed)
    assert event["agent_session"] == result["session_id"]
    assert event["tool"] == "Bash" and event["input"]["dangerouslyDisableSandbox"] is True
    assert event["tool_use_id"] == "toolu_01StandIn"


def test_claude_code_obeys_an_allow_it_would_have_refused_by_itself(
    installed: Paths, workspace: Path
) -> None:
    # In `claude -p` a command that writes needs a permission nobody is there to give;
    # Sandgate's person gives it (it reads the environment: residue, medium).
    data = {"command": "printenv HOME > seen.txt", "description": "Note the home folder"}
    api, _result, batch = _run(installed, workspace, "Bash", data, "allow")
    assert batch["band"] == "medium", api.results
    assert (workspace / "seen.txt").exists(), api.results
    [row] = tool_rows(installed)
    assert (row["decision"], row["decided_by"]) == ("allow", "user")


def _events(paths: Paths) -> list[dict[str, Any]]:
    """The tool.call events as the service stored them (straight from the database)."""
    import sqlite3

    with sqlite3.connect(paths.database) as db:
        rows = db.execute("SELECT raw FROM events WHERE kind = 'tool.call'").fetchall()
    return [json.loads(raw) for (raw,) in rows]
