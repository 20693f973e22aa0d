"""file.*: where reads and writes land relative to the workspace and protected files."""

from __future__ import annotations

from triage.facts import Facts
from triage.rules.base import FILE_WRITE, rule

_SCRATCH = ("/tmp/", "/var/tmp/", "/dev/null", "/dev/stdout", "/dev/stderr")


@rule("file.protected-write", "Writes a file that runs code later", 60, (FILE_WRITE,))
def protected_write(f: Facts) -> str | None:
    """Writes a file that runs code or changes behaviour later: shell start-up files,
    git hooks and git config, autostart entries, SSH `authorized_keys`, system folders.
    This is how an attack outlives the session (catalogue: agent_files.yaml, protected).

    Fires: `file.write ~/project/.git/hooks/pre-commit`.
    Near miss: `file.write ~/project/hooks/pre-commit.py` (an ordinary source file).
    """
    if f.kind == "file.write" and f.protected is not None:
        return f"writes {f.path}, a file that runs code or changes settings later ({f.protected})"
    return None


@rule("file.write-outside-workspace", "Writes outside the workspace", 25, (FILE_WRITE,))
def write_outside(f: Facts) -> str | None:
    """Writes a file outside the session's workspace (scratch folders such as `/tmp`
    excepted). Only judged when the session declared its workspace.

    Fires: `file.write /home/me/notes.txt` with workspace `/home/me/project`.
    Near miss: `file.write /home/me/project/notes.txt` (inside the workspace).
    """
    outside = f.outside_workspace and f.path is not None and not f.path.startswith(_SCRATCH)
    if f.kind == "file.write" and outside:
        return f"writes {f.path}, outside the workspace"
    return None


@rule("file.memory-write", "Rewrites an agent instruction file", 30, (FILE_WRITE,))
def memory_file_write(f: Facts) -> str | None:
    """Writes a file that agents load as instructions or settings at start-up
    (`CLAUDE.md`, `AGENTS.md`, `.claude/settings.json`, …) without showing the new text.
    Whatever lands there is obeyed by every later session.

    Fires: `file.write ~/project/AGENTS.md`.
    Near miss: `file.write ~/project/docs/agents.txt` (not a file agents load).
    """
    if f.kind == "file.write" and f.memory_file is not None and f.text is None:
        return f"rewrites {f.path}, which agents load as instructions at start-up"
    return None


RULES = (protected_write, write_outside, memory_file_write)
