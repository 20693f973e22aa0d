"""What an agent's tool call does, whatever the agent names the tool.

Claude Code, Codex and Gemini CLI announce the same few actions under different names
and input shapes. `action_of` reduces a tool call to one of: run a shell command, read
a file, search a folder, write a file (with the new text), fetch a URL, call an MCP
tool, or something else. The engine then judges the action like the equivalent event.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from typing import Any, NamedTuple


class Action(NamedTuple):
    kind: str  # "exec", "read", "search", "write", "fetch", "mcp" or "other"
    command: str | None = None
    cwd: str | None = None
    paths: tuple[str, ...] = ()  # written files in order; one for read/search
    texts: tuple[str | None, ...] = ()  # the new text of each written file, if known
    url: str | None = None
    # The input field by which the call asks to run outside the agent's own sandbox
    # (Claude Code's `dangerouslyDisableSandbox`, Codex's `sandbox_permissions`).
    leaves_sandbox: str | None = None


_SHELL = {"Bash", "shell", "run_shell_command", "exec_command", "local_shell", "container.exec"}
# Tool name -> the input keys that may hold the path, in order of preference.
_READ = {
    "Read": ("file_path",),
    "NotebookRead": ("notebook_path",),
    "read_file": ("absolute_path", "file_path", "path"),
    "view": ("path", "file_path"),
}
_SEARCH = {"Grep": ("path",), "search_file_content": ("path",), "grep": ("path",)}
_WRITE = {
    "Write": ("file_path",),
    "Edit": ("file_path",),
    "MultiEdit": ("file_path",),
    "NotebookEdit": ("notebook_path",),
    "write_file": ("file_path", "path"),
    "replace": ("file_path", "path"),
    "edit_file": ("path", "file_path"),
    "str_replace_editor": ("path",),
}
_FETCH = {"WebFetch": "url", "web_fetch": "prompt", "fetch": "url"}
_PATCH = {"apply_patch"}
_SHELLS = {"sh", "bash", "zsh", "dash", "ksh", "/bin/sh", "/bin/bash", "/usr/bin/bash"}
_URL = re.compile(r"https?://[^\s'\"<>]+")
_PATCH_FILE = re.compile(r"^\*\*\* (?:Add|Update|Delete) File: (.+)$")
_PATCH_MOVE = re.compile(r"^\*\*\* Move to: (.+)$")


def leaves_sandbox(data: Mapping[str, Any]) -> str | None:
    """The input field by which a tool call asks to run outside the agent's sandbox, if
    any. Such a call is never judged by its command alone: the sandbox was the reason
    the command looked harmless."""
    if data.get("dangerouslyDisableSandbox") is True:
        return "dangerouslyDisableSandbox"
    permissions = data.get("sandbox_permissions")
    if isinstance(permissions, str) and permissions not in ("", "use_default"):
        return f"sandbox_permissions: {permissions}"
    if data.get("with_escalated_permissions") is True:
        return "with_escalated_permissions"
    return None


def _first_str(data: Mapping[str, Any], keys: tuple[str, ...]) -> str | None:
    for key in keys:
        value = data.get(key)
        if isinstance(value, str) and value:
            return value
    return None


def _command(value: Any) -> str | None:
    """A command as a shell would receive it: a string, or an argv list (Codex)."""
    if isinstance(value, str):
        return value
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        # ["bash", "-lc", "script"] runs the script; anything else is an argv.
        if len(value) == 3 and value[0] in _SHELLS and value[1] in ("-c", "-lc", "-cl"):
            return str(value[2])
        return shlex.join(value)
    return None


def written_text(data: Mapping[str, Any]) -> str | None:
    """The new text a write or edit puts into a file (content, new strings, edits)."""
    parts: list[str] = []
    for key in ("content", "new_string", "new_str", "new_source", "file_text"):
        if isinstance(data.get(key), str):
            parts.append(data[key])
    edits = data.get("edits")
    if isinstance(edits, list):
        for edit in edits:
            if isinstance(edit, dict) and isinstance(edit.get("new_string"), str):
                parts.append(edit["new_string"])
    return "\n".join(parts) if parts else None


def _patch(text: str) -> Action:
    """Files and added lines of a Codex `apply_patch` envelope."""
    paths: list[str] = []
    added: dict[str, list[str]] = {}
    current: str | None = None
    for line in text.splitlines():
        m = _PATCH_FILE.match(line) or _PATCH_MOVE.match(line)
        if m is not None:
            current = m.group(1).strip()
            if current not in added:
                paths.append(current)
                added[current] = []
        elif current is not None and line.startswith("+"):
            added[current].append(line[1:])
    texts = tuple("\n".join(added[p]) if added[p] else None for p in paths)
    return Action("write", paths=tuple(paths), texts=texts)


def action_of(tool: str, data: Mapping[str, Any]) -> Action:
    """Reduce a tool call to the action it performs (and whether it asks to leave the
    agent's own sandbox)."""
    action = _action(tool, data)
    escape = leaves_sandbox(data)
    return action if escape is None else action._replace(leaves_sandbox=escape)


def _action(tool: str, data: Mapping[str, Any]) -> Action:
    if tool in _SHELL:
        command = _command(data.get("command", data.get("cmd")))
        if command is not None:
            cwd = data.get("cwd", data.get("workdir", data.get("directory")))
            return Action("exec", command=command, cwd=cwd if isinstance(cwd, str) else None)
    elif tool in _READ:
        path = _first_str(data, _READ[tool])
        if path is not None:
            return Action("read", paths=(path,))
    elif tool in _SEARCH:
        path = _first_str(data, _SEARCH[tool])
        if path is not None:
            return Action("search", paths=(path,))
    elif tool in _WRITE:
        path = _first_str(data, _WRITE[tool])
        if path is not None:
            return Action("write", paths=(path,), texts=(written_text(data),))
    elif tool in _FETCH:
        value = data.get(_FETCH[tool])
        url = _URL.search(value) if isinstance(value, str) else None
        if url is not None:
            return Action("fetch", url=url.group(0))
    elif tool in _PATCH:
        text = _first_str(data, ("input", "patch"))
        if text is not None:
            return _patch(text)
    elif tool.startswith("mcp__"):
        return Action("mcp")
    return Action("other")
