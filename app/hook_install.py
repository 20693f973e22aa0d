"""Write Sandgate's permission hook into an agent's settings, and take it out again.

Claude Code reads hooks from `settings.json` (`~/.claude/settings.json`, or a project's
`.claude/settings.local.json`: the command holds this machine's path, so it is not
for sharing); Codex from `hooks.json` (`~/.codex/hooks.json` or a project's
`.codex/hooks.json`). Both use the same shape:

    {"hooks": {"PreToolUse": [{"matcher": "*", "hooks": [{"type": "command",
                                                          "command": "...", "timeout": 150}]}]}}

Install appends one matcher group per event and leaves every other key, event and
group as it was; uninstall removes the handlers whose command is Sandgate's hook for
that agent, then any group or event it leaves empty, and nothing else. Both files are
write-protected inside a Sandgate sandbox (the default policy's `protected`).

Claude Code gets `PreToolUse` (every tool call) and `PermissionRequest`. Codex gets
`PermissionRequest` only: its `PreToolUse` cannot allow, so holding a call there would
ask a person twice (once there, once when Codex asks for approval).
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import sys
from pathlib import Path
from typing import Any

TIMEOUT = 150  # seconds; longer than the service's hold (120 s), which then denies

EVENTS = {"claude-code": ("PreToolUse", "PermissionRequest"), "codex": ("PermissionRequest",)}


def settings_file(agent: str, project: str | None, env: dict[str, str] | None = None) -> Path:
    """The file that holds the agent's hooks, for the user or for one project."""
    env = dict(os.environ) if env is None else env
    if project is not None:
        root = Path(project).resolve()
        if agent == "claude-code":
            return root / ".claude" / "settings.local.json"
        return root / ".codex" / "hooks.json"
    home = Path(env.get("HOME") or Path.home())
    if agent == "claude-code":
        return Path(env.get("CLAUDE_CONFIG_DIR") or home / ".claude") / "settings.json"
    return Path(env.get("CODEX_HOME") or home / ".codex") / "hooks.json"


def hook_command(agent: str) -> str:
    """The command the agent runs: this installation's `sandgate hook AGENT`.

    For Claude Code, `|| exit 2` turns any failure to start it (a missing program, a
    broken install) into a refusal, as Claude Code treats other exit statuses as a
    warning and goes on with the call."""
    launcher = Path(sys.executable).parent / "sandgate"
    words = [str(launcher)] if launcher.exists() else [sys.executable, "-m", "app.cli"]
    command = shlex.join([*words, "hook", agent])
    return f"{command} || exit 2" if agent == "claude-code" else command


def is_ours(handler: Any, agent: str) -> bool:
    """Whether a hook handler is Sandgate's hook for `agent` (from any installation)."""
    if not isinstance(handler, dict) or not isinstance(handler.get("command"), str):
        return False
    command = handler["command"].removesuffix(" || exit 2")
    try:
        words = shlex.split(command)
    except ValueError:
        return False
    if words[-2:] != ["hook", agent]:
        return False
    program = words[:-2]
    return (len(program) == 1 and Path(program[0]).name == "sandgate") or program[-2:] == [
        "-m",
        "app.cli",
    ]


def install(agent: str, project: str | None) -> int:
    """`sandgate hook install AGENT [--project DIR]`."""
    path = settings_file(agent, project)
    settings = _load(path)
    if settings is None:
        return 1
    hooks = settings.setdefault("hooks", {})
    if not isinstance(hooks, dict):
        print(f"sandgate: {path}: 'hooks' is not an object; not changed", file=sys.stderr)
        return 1
    added = []
    for event in EVENTS[agent]:
        groups = hooks.setdefault(event, [])
        if not isinstance(groups, list):
            print(f"sandgate: {path}: 'hooks.{event}' is not a list; not changed", file=sys.stderr)
            return 1
        present = any(
            is_ours(h, agent) for g in groups if isinstance(g, dict) for h in g.get("hooks") or []
        )
        if not present:
            handler = {"type": "command", "command": hook_command(agent), "timeout": TIMEOUT}
            groups.append({"matcher": "*", "hooks": [handler]})
            added.append(event)
    if added:
        _save(path, settings)
        print(f"sandgate: added the {agent} hook ({', '.join(added)}) to {path}")
    else:
        print(f"sandgate: the {agent} hook is already in {path}")
    if agent == "codex" and added:
        print("sandgate: Codex runs a new hook once you have trusted it (/hooks in Codex)")
    return 0


def uninstall(agent: str, project: str | None) -> int:
    """`sandgate hook uninstall AGENT [--project DIR]`: remove what install added."""
    path = settings_file(agent, project)
    if not path.exists():
        print(f"sandgate: no {path}; nothing to remove")
        return 0
    settings = _load(path)
    if settings is None:
        return 1
    hooks = settings.get("hooks")
    removed = 0
    if isinstance(hooks, dict):
        for event in list(hooks):
            groups = hooks[event]
            if not isinstance(groups, list):
                continue
            kept = []
            for group in groups:
                inner = group.get("hooks") if isinstance(group, dict) else None
                if not isinstance(inner, list):
                    kept.append(group)
                    continue
                left = [h for h in inner if not is_ours(h, agent)]
                removed += len(inner) - len(left)
                if left or not inner:
                    kept.append({**group, "hooks": left} if len(left) != len(inner) else group)
            if kept:
                hooks[event] = kept
            elif groups:  # emptied by us
                del hooks[event]
        if not hooks and removed:
            del settings["hooks"]
    if not removed:
        print(f"sandgate: no Sandgate hook for {agent} in {path}")
        return 0
    if settings:
        _save(path, settings)
    else:
        path.unlink()  # it held nothing but our hook
    print(f"sandgate: removed the {agent} hook from {path}")
    return 0


def _load(path: Path) -> dict[str, Any] | None:
    """The settings as an object ({} when the file does not exist), or None after
    saying what is wrong with it."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        print(f"sandgate: {path}: cannot read it ({exc}); not changed", file=sys.stderr)
        return None
    if not text.strip():
        return {}
    try:
        settings = json.loads(text)
    except json.JSONDecodeError as exc:
        print(
            f"sandgate: {path}:{exc.lineno}: not valid JSON ({exc.msg}); not changed",
            file=sys.stderr,
        )
        return None
    if not isinstance(settings, dict):
        print(
            f"sandgate: {path}:1: the settings are not a JSON object; not changed", file=sys.stderr
        )
        return None
    return settings


def _save(path: Path, settings: dict[str, Any]) -> None:
    """Write atomically, keeping the file's permissions (0600 for a new one)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = 0o600
    with contextlib.suppress(FileNotFoundError):
        mode = path.stat().st_mode & 0o777
    tmp = path.with_name(path.name + ".sandgate-tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(settings, handle, indent=2, ensure_ascii=False)
        handle.write("\n")
    os.chmod(tmp, mode)
    tmp.replace(path)
