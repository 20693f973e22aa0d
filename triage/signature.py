"""Signatures: the batch key of a verdict (format documented in triage/batches.py)."""

from __future__ import annotations

import posixpath
import re

from triage.events import Event, ToolCall
from triage.facts import Facts, Host

# Leading `VAR=value` assignments (and separators after them), then the program's name.
_PROGRAM = re.compile(
    r"\s*(?:[A-Za-z_]\w*=(?:\$\([^)]*\)|'[^']*'|\"[^\"]*\"|[^\s;&|]*)[\s;&|]*)*"
    r"(?:\(|\{|!)?\s*([^\s;&|()<>]+)"
)


def signature(event: Event, f: Facts, workspace: str | None, band: str) -> str:
    """`KIND SUBJECT` for one scored event. The band is not part of it: one destination
    (one file pattern, one program) is one batch, which carries its riskiest member's
    band and that band's friction (`band` is accepted so callers need not change)."""
    del band
    return subject(event, f, workspace)


def subject(event: Event, f: Facts, workspace: str | None) -> str:
    """What a person approves: the signature (see triage/batches.py)."""
    if f.kind in ("file.read", "file.write", "memory.write") and f.path is not None:
        text = f"{f.kind} {path_pattern(f, workspace)}"
    elif f.kind == "net.request" and f.host is not None:
        text = f"{f.kind} {hostport(f.host)}"  # the destination, whatever the method
    elif f.kind == "net.connect" and f.host is not None:
        text = f"net.connect {hostport(f.host)}"
    elif f.kind == "exec" and f.command is not None:
        text = f"exec {program(f.command)}"
        if f.shell_hosts:
            text += " -> " + ",".join(sorted({h.name for h in f.shell_hosts}))
    else:
        text = event.kind
    if isinstance(event, ToolCall):
        rest = text.split(" ", 1)[1] if " " in text and f.kind != "tool.mcp" else ""
        return f"tool.call {event.tool} {rest}".rstrip()
    return text


def path_pattern(f: Facts, workspace: str | None) -> str:
    """`cred:ID` for a credential location, the exact file for an agent memory file,
    otherwise the folder and extension (`$WORKSPACE/src/*.py`)."""
    path = f.path or ""
    if f.credential is not None:
        return f"cred:{f.credential.id}"
    if workspace and f.in_workspace:
        path = "$WORKSPACE" + path[len(workspace) :]
    if f.kind == "memory.write" or f.memory_file is not None:
        return path
    cut = path.rfind("/")
    folder, name = path[:cut], path[cut + 1 :]
    dot = name.rfind(".")
    ext = name[dot:] if dot > 0 else ""
    return f"{folder}/*{ext}"


def hostport(host: Host) -> str:
    name = f"[{host.name}]" if ":" in host.name else host.name
    return f"{name}:{host.port}" if host.port is not None else name


def program(command: str) -> str:
    """The first program a command line runs, for its signature (not for judging)."""
    m = _PROGRAM.match(command)
    if m is None:
        return "(empty)"
    return posixpath.basename(m.group(1)) or m.group(1)
