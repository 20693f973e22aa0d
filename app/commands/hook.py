"""`sandgate hook claude-code|codex`: an agent's permission hook, and its installer.

As a hook (`PreToolUse`, `PermissionRequest`) it reads the agent's JSON payload on
standard input, asks the service `tool.ask`, and prints the agent's answer: allow, deny,
or nothing (the agent's own permission mode then applies). Triage runs in the service;
this process only carries the payload there and the answer back, so it imports little
(json, os, socket) before answering: it runs before every tool call.

Inside a Sandgate sandbox the service socket is out of reach, and the hook uses its
session's channel (`SANDGATE_CHANNEL`), which can ask and never decide. Outside it uses
the service socket. When neither answers, the hook fails closed: exit status 2, the
reason on standard error, which both agents take as a refusal of the call.

`sandgate hook install claude-code|codex [--project DIR]` writes the hook into the
agent's settings without disturbing anything else there; `uninstall` removes exactly
the entries install added (app/hook_install.py).
"""

from __future__ import annotations

import json
import os
import socket
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing and argparse cost more to import than this whole module
    import argparse
    from collections.abc import Mapping, Sequence
    from typing import Any

AGENTS = ("claude-code", "codex")
EVENTS = ("PreToolUse", "PermissionRequest")
REFUSED = 2  # the exit status both agents read as "block this call"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "action",
        choices=[*AGENTS, "install", "uninstall"],
        help="AGENT: answer one hook payload on standard input; install/uninstall AGENT",
    )
    parser.add_argument("agent", nargs="?", choices=AGENTS, help="for install and uninstall")
    parser.add_argument(
        "--project",
        default=None,
        help="install into this project's settings instead of the user's",
    )


class _Args:
    def __init__(self, action: str) -> None:
        self.action = action
        self.agent: str | None = None
        self.project: str | None = None


def parse_quickly(argv: Sequence[str]) -> Any:
    """`sandgate hook AGENT`, the line the agent runs before every tool call, without
    argparse; None for anything else."""
    if len(argv) == 1 and argv[0] in AGENTS:
        return _Args(argv[0])
    return None


def main(args: argparse.Namespace) -> int:
    if args.action in AGENTS:
        return answer(args.action, sys.stdin.buffer.read(), os.environ)
    if args.agent is None:
        print(f"sandgate hook {args.action}: name the agent ({', '.join(AGENTS)})", file=sys.stderr)
        return 2
    from app.hook_install import install, uninstall

    return (install if args.action == "install" else uninstall)(args.agent, args.project)


def answer(agent: str, raw: bytes, env: Mapping[str, str]) -> int:
    """Answer one hook payload: print the agent's JSON and return 0, or refuse (2)."""
    try:
        payload = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        return _refuse(f"the hook payload on standard input is not JSON ({exc})")
    if not isinstance(payload, dict):
        return _refuse("the hook payload on standard input is not a JSON object")
    event = payload.get("hook_event_name")
    if event not in EVENTS:
        return _refuse(f"sandgate answers {' and '.join(EVENTS)} hooks, not {event!r}")
    request = {"op": "tool.ask", "agent": agent, "payload": payload}
    if env.get("HOME"):
        request["home"] = env["HOME"]
    try:
        response = _ask(request, env)
    except OSError as exc:
        return _refuse(f"the Sandgate service cannot be reached ({exc})")
    except ValueError as exc:
        return _refuse(f"the Sandgate service answered something unreadable ({exc})")
    if not response.get("ok"):
        return _refuse(f"the Sandgate service refused the request: {response.get('error')}")
    output = render(agent, event, response.get("decision"), str(response.get("reason") or ""))
    if output is not None:
        sys.stdout.write(json.dumps(output) + "\n")
    return 0


def render(agent: str, event: str, decision: Any, reason: str) -> dict[str, Any] | None:
    """The agent's hook output for a decision (`allow`, `deny`, or None for no opinion)."""
    if decision not in ("allow", "deny"):
        return None
    if event == "PermissionRequest":
        verdict: dict[str, Any] = {"behavior": decision}
        if decision == "deny":
            verdict["message"] = reason
        return {"hookSpecificOutput": {"hookEventName": event, "decision": verdict}}
    if agent == "codex" and decision == "allow":
        return None  # Codex's PreToolUse may only deny; an allow lets its own flow go on
    return {
        "hookSpecificOutput": {
            "hookEventName": event,
            "permissionDecision": decision,
            "permissionDecisionReason": reason,
        }
    }


def _ask(request: dict[str, Any], env: Mapping[str, str]) -> dict[str, Any]:
    """One request and its response, over the session's channel inside a sandbox or
    the service socket outside. No timeout: a held call waits for a person, and the
    agent's own hook timeout ends this process if it must."""
    channel = env.get("SANDGATE_CHANNEL")
    if channel:
        path = channel
    else:
        from app.paths import Paths

        path = str(Paths.from_environment().socket)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.connect(path)
        sock.sendall(json.dumps(request, separators=(",", ":")).encode() + b"\n")
        with sock.makefile("rb") as reader:
            line = reader.readline()
    if not line:
        raise OSError("the connection closed before an answer came")
    response = json.loads(line)
    if not isinstance(response, dict):
        raise ValueError("not a JSON object")
    return response


def _refuse(reason: str) -> int:
    sys.stderr.write(f"sandgate: {reason}; the tool call is refused\n")
    return REFUSED
