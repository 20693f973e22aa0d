"""`sandgate hook claude-code|codex`: an agent's permission hook, and its installer.

As a hook (`PreToolUse`, `PermissionRequest`) it reads the agent's JSON payload on
standard input, asks the service `tool.ask`, and prints the agent's answer: allow, deny,
or nothing (the agent's own permission mode then applies). Triage runs in the service;
this process only carries the payload there and the answer back, and imports almost
nothing (not even `json` or `socket`): it runs before every tool call.

Inside a Sandgate sandbox the service socket is out of reach, and the hook uses its
session's channel (`SANDGATE_CHANNEL`), which can ask and never decide. Outside it uses
the service socket. When neither answers, the hook fails closed: exit status 2, the
reason on standard error, which both agents take as a refusal of the call.

`sandgate hook install claude-code|codex [--project DIR]` writes the hook into the
agent's settings without disturbing anything else there; `uninstall` removes exactly
the entries install added (app/hook_install.py).
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing and argparse cost more to import than this whole module
    import argparse
    from collections.abc import Mapping, Sequence
    from typing import Any

AGENTS = ("claude-code", "codex")
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
    """Answer one hook payload: print the agent's JSON and return 0, or refuse (2).

    The payload goes to the service as it came (the service checks it), so this process
    neither parses nor re-encodes it: importing `json` and `socket` would cost a hook
    more than everything else it does (they pull in `re` and `enum`)."""
    line = raw.strip().replace(b"\r", b" ").replace(b"\n", b" ")  # JSON needs neither
    if not line.startswith(b"{"):
        return _refuse("the hook payload on standard input is not a JSON object")
    request = b'{"op":"tool.ask","agent":' + _string(agent)
    if env.get("HOME"):
        request += b',"home":' + _string(env["HOME"])
    request += b',"payload":' + line + b"}\n"
    try:
        response = _ask(request, env)
    except OSError as exc:
        return _refuse(f"the Sandgate service cannot be reached ({exc})")
    except ValueError as exc:
        return _refuse(f"the Sandgate service answered something unreadable ({exc})")
    if not response.get("ok"):
        return _refuse(f"the Sandgate service refused the request: {response.get('error')}")
    event = str(response.get("hook") or "")
    output = render(agent, event, response.get("decision"), str(response.get("reason") or ""))
    if output is not None:
        sys.stdout.write(_dumps(output) + "\n")
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


def _ask(request: bytes, env: Mapping[str, str]) -> dict[str, Any]:
    """One request and its response, over the session's channel inside a sandbox or
    the service socket outside. No timeout: a held call waits for a person, and the
    agent's own hook timeout ends this process if it must."""
    import _socket

    path = env.get("SANDGATE_CHANNEL") or service_socket(env)
    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        sock.connect(path)
        sock.sendall(request)
        reply = b""
        while not reply.endswith(b"\n"):
            chunk = sock.recv(65536)
            if not chunk:
                raise OSError("the connection closed before an answer came")
            reply += chunk
    finally:
        sock.close()
    response = _loads(reply.decode())
    if not isinstance(response, dict):
        raise ValueError("not a JSON object")
    return response


def service_socket(env: Mapping[str, str]) -> str:
    """`Paths.from_environment().socket`, without importing pathlib (a third of a hook's
    cost) in the common case: a usable XDG_RUNTIME_DIR on Linux."""
    base = env.get("XDG_RUNTIME_DIR", "")
    if (
        sys.platform.startswith("linux")
        and base.startswith("/")
        and os.path.isdir(base)
        and os.access(base, os.W_OK | os.X_OK)
    ):
        return f"{base}/sandgate/service.sock"
    from app.paths import Paths

    return str(Paths.from_environment().socket)


def _string(text: str) -> bytes:
    import _json

    return str(_json.encode_basestring_ascii(text)).encode()


class _Decoding:
    """What the C JSON scanner reads from its context: the defaults of `json.loads`."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = float  # NaN, Infinity


def _loads(text: str) -> Any:
    """`json.loads` through the C scanner alone (see `answer` for why)."""
    import _json

    text = text.strip()
    try:
        value, end = _json.make_scanner(_Decoding())(text, 0)  # type: ignore[arg-type]
    except StopIteration as exc:
        raise ValueError(f"not JSON at character {exc.value}") from None
    if end != len(text):
        raise ValueError(f"extra data at character {end}")
    return value


def _dumps(value: Any) -> str:
    """JSON text of the hook outputs `render` builds (objects, strings, booleans, None)."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_dumps(str(k))}: {_dumps(v)}" for k, v in value.items()) + "}"
    if isinstance(value, str):
        return _string(value).decode()
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    raise TypeError(f"cannot encode {type(value).__name__}")


def _refuse(reason: str) -> int:
    sys.stderr.write(f"sandgate: {reason}; the tool call is refused\n")
    return REFUSED
