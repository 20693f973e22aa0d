"""`sandgate hook` outside a sandbox: over the service socket, with real triage."""

from __future__ import annotations

import json
from pathlib import Path

from kit import finish, payload, request, sandgate, start_hook, tool_rows, wait_for_batch

from app.paths import Paths


def test_a_low_risk_call_outside_a_sandbox_is_left_to_the_agent(
    service: Paths, workspace: Path
) -> None:
    data = payload("claude-code-pretooluse-read", cwd=str(workspace))
    data["tool_input"] = {"file_path": str(workspace / "README.md")}
    done = sandgate("hook", "claude-code", cwd=workspace, stdin=json.dumps(data))
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""  # no opinion: the agent's own permission mode applies
    [row] = tool_rows(service)
    assert row["band"] == "low" and row["decision"] is None


def test_residue_waits_in_the_queue_and_the_hook_answers_the_persons_decision(
    service: Paths, workspace: Path
) -> None:
    data = payload("claude-code-pretooluse-bash-unsandboxed", cwd=str(workspace))
    hook = start_hook("claude-code", data, workspace)
    batch = wait_for_batch(service)
    assert hook.poll() is None  # still waiting for a person
    [member] = batch["members"]
    assert member["kind"] == "tool.call" and "git push origin main" in member["summary"]
    assert "tool.leaves-sandbox" in {r["rule"] for r in member["reasons"]}
    assert request(service, "decide", batch=batch["batch"], decision="deny")["released"] == 1
    code, out, err = finish(hook)
    assert code == 0, err
    answer = json.loads(out)["hookSpecificOutput"]
    assert answer["hookEventName"] == "PreToolUse"
    assert answer["permissionDecision"] == "deny"
    assert batch["batch"] in answer["permissionDecisionReason"]
    [row] = tool_rows(service)
    assert (row["decision"], row["decided_by"]) == ("deny", "user")


def test_codex_permission_request_is_allowed_when_a_person_allows_it(
    service: Paths, workspace: Path
) -> None:
    # Codex asks for approval to run a command outside its own sandbox: residue, even
    # for a command that scores low on its own.
    hook = start_hook("codex", payload("codex-permissionrequest-bash"), workspace)
    batch = wait_for_batch(service)
    assert batch["members"][0]["band"] == "low"
    request(service, "decide", batch=batch["batch"], decision="allow")
    code, out, err = finish(hook)
    assert code == 0, err
    assert json.loads(out) == {
        "hookSpecificOutput": {
            "hookEventName": "PermissionRequest",
            "decision": {"behavior": "allow"},
        }
    }


def test_without_a_service_the_hook_fails_closed(isolated_env: Path, workspace: Path) -> None:
    data = payload("claude-code-pretooluse-bash")
    done = sandgate("hook", "claude-code", cwd=workspace, stdin=json.dumps(data))
    assert done.returncode == 2
    assert done.stdout == ""
    assert "cannot be reached" in done.stderr and "refused" in done.stderr


def test_a_payload_that_is_not_json_or_not_a_tool_call_is_refused(
    service: Paths, workspace: Path
) -> None:
    bad = sandgate("hook", "claude-code", cwd=workspace, stdin="{not json")
    assert bad.returncode == 2 and "JSON" in bad.stderr and "refused" in bad.stderr
    wrong = payload("claude-code-pretooluse-bash", hook_event_name="Stop")
    other = sandgate("hook", "claude-code", cwd=workspace, stdin=json.dumps(wrong))
    assert other.returncode == 2 and "'Stop'" in other.stderr
    nameless = payload("claude-code-pretooluse-bash")
    del nameless["tool_name"]
    refused = sandgate("hook", "claude-code", cwd=workspace, stdin=json.dumps(nameless))
    assert refused.returncode == 2 and "tool_name" in refused.stderr
