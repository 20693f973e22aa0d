"""The real Claude Code, with the hook installed, against a stand-in Messages API.

The stand-in streams one tool call, then a text quoting the tool's result. Outside a
sandbox the hook reaches the service socket, and the test decides the held call in
Sandgate's queue as a person would; inside `sandgate run` (real bwrap, the stand-in
reached through the session's egress proxy) the hook reaches its session's channel,
and a low-risk call is allowed without anyone asked. Each time Claude Code obeys.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from kit import SANDGATE, request, sandgate, tool_rows, wait_for_batch
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


@pytest.mark.skipif(shutil.which("bwrap") is None, reason="needs bubblewrap")
def test_inside_the_sandbox_a_low_risk_call_is_allowed_without_a_prompt(
    installed: Paths, workspace: Path, tmp_path: Path
) -> None:
    # `claude -p` alone refuses a write nobody approved; inside Sandgate the sandbox is
    # the boundary, so the hook allows it and nobody is asked.
    from tests.proxy.conftest import make_pki

    target = workspace / "notes.txt"
    pki = make_pki(tmp_path / "pki")
    tls = (pki.cert_pem, pki.key_pem)
    with StandInAPI("Write", {"file_path": str(target), "content": "hello\n"}, tls) as api:
        port = api.server.server_address[1]
        policy = tmp_path / "policy.yaml"
        # The stand-in plays Anthropic's API (HTTPS) on loopback: the agent's login (its
        # key, a placeholder inside) is bound to that address for this session.
        policy.write_text(
            f"version: 1\nnetwork:\n  allow: ['127.0.0.1:{port}']\n"
            f"  upstream_ca: {pki.ca_pem}\n"
            "profiles:\n  claude-code:\n    logins:\n"
            "      - {vendor: anthropic, api: 127.0.0.1, header: x-api-key,"
            " env: ANTHROPIC_API_KEY}\n"
        )
        env = {**os.environ, "ANTHROPIC_BASE_URL": api.url, "ANTHROPIC_API_KEY": "sk-ant-stand-in"}
        env |= {"DISABLE_AUTOUPDATER": "1", "DISABLE_TELEMETRY": "1"}
        env["CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC"] = "1"
        run = subprocess.run(
            [*SANDGATE, "run", "--policy", str(policy), "--", "claude", "-p", "write notes"],
            cwd=workspace, env=env, capture_output=True, text=True, timeout=120,
            stdin=subprocess.DEVNULL,
        )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert target.read_text() == "hello\n", api.results
    [row] = tool_rows(installed)
    assert (row["decision"], row["decided_by"]) == ("allow", "sandbox")
    assert request(installed, "queue")["batches"] == []  # nobody was asked


def _events(paths: Paths) -> list[dict[str, Any]]:
    """The tool.call events as the service stored them (straight from the database)."""
    import sqlite3

    with sqlite3.connect(paths.database) as db:
        rows = db.execute("SELECT raw FROM events WHERE kind = 'tool.call'").fetchall()
    return [json.loads(raw) for (raw,) in rows]
