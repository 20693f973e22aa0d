"""The agents' hook payloads, pinned with recorded examples, and the answers we give."""

from __future__ import annotations

from pathlib import Path

import pytest
from kit import PAYLOADS, payload

from app.commands.hook import render
from app.service.hooks import tool_event
from triage.catalogues import load_catalogues
from triage.engine import Triage

# What each agent's documentation and schema promise (Claude Code 2.1.197, Codex 0.171.0).
CLAUDE_COMMON = {"session_id", "transcript_path", "cwd", "permission_mode", "hook_event_name"}
CLAUDE = {
    "PreToolUse": CLAUDE_COMMON | {"tool_name", "tool_input", "tool_use_id"},
    "PermissionRequest": CLAUDE_COMMON | {"tool_name", "tool_input", "permission_suggestions"},
}
CODEX_COMMON = {
    "cwd", "hook_event_name", "model", "permission_mode", "session_id", "tool_input",
    "tool_name", "transcript_path", "turn_id",
}  # fmt: skip
CODEX = {"PermissionRequest": CODEX_COMMON, "PreToolUse": CODEX_COMMON | {"tool_use_id"}}


def _fixtures() -> list[str]:
    return sorted(p.stem for p in PAYLOADS.glob("*.json"))


def test_every_agent_and_event_has_a_pinned_payload() -> None:
    names = _fixtures()
    assert any(n.startswith("claude-code-pretooluse-") for n in names)
    assert any(n.startswith("claude-code-permissionrequest-") for n in names)
    assert any(n.startswith("codex-permissionrequest-") for n in names)
    assert any(n.startswith("codex-pretooluse-") for n in names)


@pytest.mark.parametrize("name", _fixtures())
def test_a_payload_has_the_documented_fields_and_becomes_a_tool_call(
    name: str, resources: Path
) -> None:
    data = payload(name)
    agent = "codex" if name.startswith("codex") else "claude-code"
    required = (CODEX if agent == "codex" else CLAUDE)[data["hook_event_name"]]
    assert required <= set(data), required - set(data)
    event = tool_event(agent, data)
    assert event["kind"] == "tool.call"
    assert event["tool"] == data["tool_name"] and event["input"] == data["tool_input"]
    verdict = Triage(load_catalogues(resources / "catalogues")).score_dict(
        {**event, "id": "e1", "session": "s"}
    )
    assert verdict.error is None


def test_a_call_that_leaves_the_agents_sandbox_is_never_low(resources: Path) -> None:
    engine = Triage(load_catalogues(resources / "catalogues"))
    data = payload("claude-code-pretooluse-bash-unsandboxed")
    event = {**tool_event("claude-code", data), "id": "e1", "session": "s"}
    verdict = engine.score_dict(event)
    assert "tool.leaves-sandbox" in verdict.rules
    assert verdict.band in ("high", "critical")


def test_answers_are_in_each_agents_own_shape() -> None:
    assert render("claude-code", "PreToolUse", "allow", "low risk") == {
        "hookSpecificOutput": {
            "hookEventName": "PreToolUse",
            "permissionDecision": "allow",
            "permissionDecisionReason": "low risk",
        }
    }
    assert render("claude-code", "PermissionRequest", "deny", "no") == {
        "hookSpecificOutput": {
            "hookEventName": "PermissionRequest",
            "decision": {"behavior": "deny", "message": "no"},
        }
    }
    assert render("codex", "PermissionRequest", "allow", "ok") == {
        "hookSpecificOutput": {
            "hookEventName": "PermissionRequest",
            "decision": {"behavior": "allow"},
        }
    }
    # Codex refuses a PreToolUse allow; no opinion lets its own flow go on.
    assert render("codex", "PreToolUse", "allow", "ok") is None
    assert (
        render("codex", "PreToolUse", "deny", "no")["hookSpecificOutput"]["permissionDecision"]
        == "deny"
    )  # type: ignore[index]
    assert render("claude-code", "PreToolUse", None, "") is None


def test_the_hook_finds_the_service_socket_where_paths_puts_it(isolated_env: Path) -> None:
    import os

    from app.commands.hook import service_socket
    from app.paths import Paths

    assert service_socket(os.environ) == str(Paths.from_environment().socket)
    without = {k: v for k, v in os.environ.items() if k != "XDG_RUNTIME_DIR"}
    os.environ.pop("XDG_RUNTIME_DIR")
    assert service_socket(without) == str(Paths.from_environment().socket)
