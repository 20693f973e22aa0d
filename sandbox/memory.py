"""Agent memory files: writable, but every change is shown to a person.

`CLAUDE.md`, `AGENTS.md` and their kind are loaded by agents as instructions at every
start, so a poisoned one keeps working across sessions. The sandbox leaves them
writable (agents legitimately keep notes there); the service snapshots them, reports
each change as a `memory.write` event with its diff, and asks for review before the
next session in that workspace starts.

Names are relative to the workspace root (globs allowed), or start with `~/`.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from sandbox.patterns import expand, has_magic, split_root

MAX_BYTES = 1 << 20  # a memory file larger than this is cut for the diff


def memory_paths(workspace: Path, names: Sequence[str], home: Path | None = None) -> list[Path]:
    """The paths to watch: every literal name (existing or not) and existing glob matches."""
    out: dict[Path, None] = {}
    for name in names:
        parts = split_root(name, workspace, home)
        if parts is None:
            continue
        root, below = parts  # the root as named: `proj [v2]` is no pattern
        if has_magic(below):
            for path in expand(below, root or None, limit=1000):
                out[path] = None
        else:
            out[Path(os.path.join(root, below) if root else below)] = None
    return list(out)


def memory_snapshot(
    workspace: Path, names: Sequence[str], home: Path | None = None
) -> dict[Path, str]:
    """The text of each existing memory file (path -> text)."""
    texts: dict[Path, str] = {}
    for path in memory_paths(workspace, names, home):
        if not path.is_file():
            continue
        try:
            with path.open("rb") as handle:
                data = handle.read(MAX_BYTES)
        except OSError:
            continue
        texts[path] = data.decode("utf-8", errors="replace")
    return texts


def memory_diff(old: Mapping[Path, str], new: Mapping[Path, str]) -> str:
    """A unified diff of every memory file created, changed or removed ("" if none)."""
    chunks: list[str] = []
    for path in sorted(set(old) | set(new)):
        before, after = old.get(path), new.get(path)
        if before == after:
            continue
        lines = difflib.unified_diff(
            (before or "").splitlines(keepends=True),
            (after or "").splitlines(keepends=True),
            fromfile=str(path) if before is not None else "/dev/null",
            tofile=str(path) if after is not None else "/dev/null",
        )
        text = "".join(line if line.endswith("\n") else line + "\n" for line in lines)
        chunks.append(text)
    return "".join(chunks)
