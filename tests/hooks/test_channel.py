"""Inside a real sandbox the hook reaches the service only through its session's channel,
which can ask about that session and never decide, list or see another session."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from kit import SANDGATE, finish, payload, request, sandgate, tool_rows, wait_for_batch

from app.paths import Paths

pytestmark = pytest.mark.skipif(shutil.which("bwrap") is None, reason="needs bubblewrap")

# Run inside the sandbox with the system's Python: tries everything the channel refuses.
PROBE = r"""
import json, os, socket, sys
def ask(request):
    with socket.socket(socket.AF_UNIX) as s:
        s.connect(os.environ["SANDGATE_CHANNEL"])
        s.sendall(json.dumps(request).encode() + b"\n")
        return json.loads(s.makefile().readline())
out = {"ping": ask({"op": "ping"})}
for op in ("decide", "queue", "history", "session.open", "session.close", "memory.accept"):
    out[op] = ask({"op": op, "batch": "b1", "decision": "allow", "session": "x"})
out["other"] = ask({"op": "tool.ask", "session": sys.argv[1], "agent": "claude-code",
                    "payload": {"hook_event_name": "PreToolUse", "tool_name": "Bash",
                                "tool_input": {"command": "ls"}}})
out["service_socket"] = os.path.exists(sys.argv[2])
print(json.dumps(out))
"""


def test_the_hook_inside_a_sandbox_allows_a_low_risk_call_through_the_channel(
    service: Paths, workspace: Path
) -> None:
    (workspace / "payload.json").write_text(json.dumps(payload("claude-code-pretooluse-bash")))
    hook = " ".join([*SANDGATE, "hook", "claude-code"])
    run = sandgate("run", "--", "sh", "-c", f"{hook} < payload.json", cwd=workspace)
    assert run.returncode == 0, run.stderr
    answer = json.loads(run.stdout)["hookSpecificOutput"]
    assert answer["permissionDecision"] == "allow"
    assert "inside the sandbox" in answer["permissionDecisionReason"]
    [row] = tool_rows(service)
    assert (row["decision"], row["decided_by"]) == ("allow", "sandbox")


def test_a_permission_request_inside_a_sandbox_is_answered_in_its_own_shape(
    service: Paths, workspace: Path
) -> None:
    data = payload("claude-code-permissionrequest-write", cwd=str(workspace))
    data["tool_input"] = {"file_path": str(workspace / "notes.txt"), "content": "hello\n"}
    (workspace / "payload.json").write_text(json.dumps(data))
    hook = " ".join([*SANDGATE, "hook", "claude-code"])
    run = sandgate("run", "--", "sh", "-c", f"{hook} < payload.json", cwd=workspace)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout) == {
        "hookSpecificOutput": {
            "hookEventName": "PermissionRequest",
            "decision": {"behavior": "allow"},
        }
    }


def test_the_channel_refuses_to_decide_list_or_speak_for_another_session(
    service: Paths, workspace: Path
) -> None:
    (workspace / "probe.py").write_text(PROBE)
    run = sandgate(
        "run", "--", "/usr/bin/python3", "probe.py", "someone-else", str(service.socket),
        cwd=workspace,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    assert out["ping"]["ok"] and out["ping"]["session"]
    for op in ("decide", "queue", "history", "session.open", "session.close", "memory.accept"):
        assert out[op] == {
            "ok": False,
            "error": f"'{op}' is not available on a session's channel (only ping, event, tool.ask)",
        }
    assert out["other"] == {
        "ok": False,
        "error": "a session's channel speaks for that session only",
    }
    assert out["service_socket"] is False
    assert tool_rows(service) == []  # nothing was recorded for anyone else


def test_residue_asked_inside_waits_for_a_person_outside(service: Paths, workspace: Path) -> None:
    import subprocess

    data = payload("claude-code-pretooluse-bash-unsandboxed", cwd=str(workspace))
    (workspace / "payload.json").write_text(json.dumps(data))
    hook = " ".join([*SANDGATE, "hook", "claude-code"])
    run = subprocess.Popen(
        [*SANDGATE, "run", "--", "sh", "-c", f"{hook} < payload.json"],
        cwd=workspace,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    batch = wait_for_batch(service)
    assert request(service, "decide", batch=batch["batch"], decision="allow")["released"] == 1
    code, out, err = finish(run, timeout=30)
    assert code == 0, err
    answer = json.loads(out)["hookSpecificOutput"]
    assert answer["permissionDecision"] == "allow"
    assert "by a person" in answer["permissionDecisionReason"]
