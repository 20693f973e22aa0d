"""Finding the agent: the program, its interpreter and its install folder, shown inside.

`sandgate run -- NAME` names a program found on the caller's PATH. Agents are often
installed where the sandbox shows nothing: under the home (nvm, an npm prefix, pyenv,
pipx) or in /tmp (a throw-away venv). This resolves NAME on the host as the caller's
shell would, follows its symlinks and its `#!` line (`#!/usr/bin/env node` is looked
up on the same PATH), and for each file the sandbox would not show, finds the folder
it was installed into — the folder above `bin/` (a venv, a Python, a Node prefix), the
folder holding `lib/node_modules`, a pyenv root above `shims/` — and shows that folder
read-only at the same place. A folder too wide to show (the home itself, /tmp) is not
shown; the file alone is.

When NAME is not on the PATH, or lives where the policy never shows anything, the
session is refused with a sentence that says which path to give or to trust.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

# Never shown whole as an install folder: showing one would show far more than an agent.
TOO_WIDE = frozenset({"/", "/tmp", "/var", "/var/tmp", "/run", "/home", "/srv", "/mnt", "/media"})
# Folders whose parent is the install folder.
BIN_NAMES = frozenset({"bin", "sbin", "shims", "libexec"})


@dataclass(frozen=True)
class Location:
    """What must be shown for the agent to start: (host source, sandbox path) read-only
    binds, and a line for the user per install folder shown."""

    program: str | None  # the resolved path, None if not found
    binds: tuple[tuple[str, str], ...] = ()
    notices: tuple[str, ...] = field(default=())


class AgentNotFound(Exception):
    """NAME cannot be run inside (the message says which path to give or trust)."""


def locate(
    program: str,
    env: Mapping[str, str],
    home: Path,
    hidden: Callable[[str], bool],
    denied: Callable[[str], str | None],
) -> Location:
    """Resolve `program` like a shell would with `env`'s PATH and PWD. `hidden(path)`
    says whether the sandbox would not show a host path; `denied(path)` names the
    policy pattern that hides it for good (None if none). Raises AgentNotFound."""
    path_var = env.get("PATH", os.defpath)
    if "/" in program:
        found: str | None = os.path.join(env.get("PWD") or os.getcwd(), program)
        if not os.path.exists(str(found)):
            return Location(None)  # a path inside the workspace, made later: let it try
    else:
        found = shutil.which(program, path=path_var)
    if not found:
        raise AgentNotFound(
            f"{program} is not on your PATH here; give its full path "
            f"(sandgate run -- /path/to/{program}), or if it is installed in a folder "
            "the sandbox hides, trust that folder in ~/.config/sandgate/policy.yaml "
            "(trusted: [FOLDER])"
        )
    found = os.path.abspath(found)
    files = _chain(found, path_var)
    binds: dict[str, str] = {}  # sandbox path -> host source
    notices: list[str] = []
    for path in files:
        if not hidden(path) or _covered(path, binds):
            continue
        rule = denied(path)
        if rule is not None:
            raise AgentNotFound(
                f"{program} is installed at {path}, which the policy never shows ({rule}); "
                "install it elsewhere, or remove that rule and trust its folder in "
                f"~/.config/sandgate/policy.yaml (trusted: [{_prefix(path, home) or path}])"
            )
        real = os.path.realpath(path)
        # A venv's python is a link to the system's: its install folder is the venv.
        prefix = _prefix(real if hidden(real) else path, home)
        if prefix is not None and hidden(prefix) and os.path.isdir(prefix):
            binds[prefix] = os.path.realpath(prefix)
            notices.append(f"{prefix} is shown read-only: {program} is installed there")
        if not _covered(path, binds):
            binds[path] = real
    ordered = sorted(binds.items(), key=lambda item: item[0].count("/"))
    return Location(found, tuple((src, dest) for dest, src in ordered), tuple(notices))


def _chain(found: str, path_var: str, depth: int = 0) -> list[str]:
    """The program, each link on the way to its target, and the same for its interpreter."""
    out = [found]
    current = found
    for _ in range(10):  # a symlink chain
        if not os.path.islink(current):
            break
        current = os.path.normpath(os.path.join(os.path.dirname(current), os.readlink(current)))
        out.append(current)
    out.append(os.path.realpath(found))
    interpreter = _interpreter(os.path.realpath(found), path_var)
    if interpreter and depth < 2:
        out += _chain(interpreter, path_var, depth + 1)
    return list(dict.fromkeys(out))


def _interpreter(path: str, path_var: str) -> str | None:
    """The program a `#!` line runs (`env NAME` looked up on PATH), or None."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(256)
    except OSError:
        return None
    if not head.startswith(b"#!"):
        return None
    words = head[2:].split(b"\n", 1)[0].decode(errors="replace").split()
    if not words:
        return None
    if os.path.basename(words[0]) == "env":
        names = [w for w in words[1:] if not w.startswith("-") and "=" not in w]
        return shutil.which(names[0], path=path_var) if names else None
    return words[0] if os.path.isabs(words[0]) else None


def _prefix(path: str, home: Path) -> str | None:
    """The folder `path` was installed into, or None when that would be too wide."""
    parts = Path(path).parts
    if "node_modules" in parts:
        at = parts.index("node_modules")
        prefix = Path(*parts[: at - 1]) if at > 1 and parts[at - 1] == "lib" else Path(*parts[:at])
    elif len(parts) > 2 and parts[-2] in BIN_NAMES:
        prefix = Path(*parts[:-2])
    else:
        prefix = Path(path).parent
    text = str(prefix)
    h = str(home)
    if text in TOO_WIDE or text == h or h.startswith(text.rstrip("/") + "/"):
        return None
    return text


def _covered(path: str, binds: Mapping[str, str]) -> bool:
    return any(path == dest or path.startswith(dest + "/") for dest in binds)
