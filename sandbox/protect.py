"""Protected files: read-only inside the sandbox, and held for review if they change.

Files like `.git/hooks/*`, `.git/config`, `.envrc` or `.vscode/tasks.json` run code on
the host later, outside any sandbox. Those that exist when a session opens are bound
read-only (a folder pattern `dir/**` binds the whole folder, so nothing new can be put
in it). A file that did not exist cannot be bound without leaving a stub on the host,
so instead the service takes a `snapshot` before the session and asks
`changed_protected` after it; whatever was created or changed is moved out of the
workspace by `quarantine`, with a manifest, until a person reviews it (`restore`).

Patterns are relative to the workspace root, or start with `~/` for the home.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from sandbox.patterns import compile_pattern, expand, has_magic, split_root

MANIFEST = "manifest.json"


@dataclass(frozen=True)
class ProtectedSnapshot:
    """Fingerprints of every protected file at one moment (path -> fingerprint)."""

    workspace: Path
    home: Path | None
    patterns: tuple[str, ...]
    entries: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    taken: float = 0.0  # time.time() when the snapshot was taken


def _existing_matches(pattern: str, workspace: Path, home: Path | None, limit: int) -> list[Path]:
    """Existing paths a protected pattern names (none for `~/` without a home). The
    workspace and the home are taken as they are named, never as patterns."""
    parts = split_root(pattern, workspace, home)
    return [] if parts is None else expand(parts[1], parts[0] or None, limit=limit)


def bind_targets(workspace: Path, patterns: Sequence[str], home: Path | None = None) -> list[Path]:
    """Existing protected paths to bind read-only: folders for `dir/**`, else files.

    Symlinks are left out (a bind would follow them out of the tree); a change to one
    is still caught by the snapshot.
    """
    out: dict[Path, None] = {}
    for pattern in patterns:
        parts = split_root(pattern, workspace, home)
        if parts is None:
            continue
        root, below = parts
        if below.endswith("/**") and not has_magic(below[:-3]):
            folder = Path(os.path.join(root, below[:-3]) if root else below[:-3])
            if folder.is_dir() and not folder.is_symlink():
                out[folder] = None
            continue
        for path in _existing_matches(pattern, workspace, home, 1000):
            if not path.is_symlink():
                out[path] = None
    return list(out)


def _fingerprint(path: Path) -> str | None:
    try:
        info = path.lstat()
    except OSError:
        return None
    if stat.S_ISLNK(info.st_mode):
        return "link:" + os.readlink(path)
    if not stat.S_ISREG(info.st_mode):
        return None
    digest = hashlib.sha256()
    try:
        with path.open("rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    except OSError:
        return None
    return f"file:{info.st_mode & 0o7777:o}:{digest.hexdigest()}"


def _scan(workspace: Path, patterns: Iterable[str], home: Path | None) -> dict[str, str]:
    entries: dict[str, str] = {}
    for pattern in patterns:
        for path in _existing_matches(pattern, workspace, home, 5000):
            print_ = _fingerprint(path)
            if print_ is not None:
                entries[str(path)] = print_
    return entries


def snapshot(
    workspace: Path, patterns: Sequence[str], home: Path | None = None
) -> ProtectedSnapshot:
    """Fingerprint (mode and SHA-256, or link target) every protected file now."""
    taken = time.time()
    entries = MappingProxyType(_scan(workspace, patterns, home))
    return ProtectedSnapshot(workspace, home, tuple(patterns), entries, taken)


def changed_protected(
    before: ProtectedSnapshot, workspace: Path | None = None, deep: bool = True
) -> list[Path]:
    """Protected files created or changed since `before` (deleted ones are not listed).

    Besides the patterns where they are written (relative to the workspace root), a
    `deep` look walks the workspace for files changed since the snapshot that match a
    workspace pattern at any depth (`sub/.git/hooks/x` from `git init sub`,
    `pkg/.envrc`), a `.git` file pointing elsewhere, and the config of a new bare
    repository; each of these makes a host `git` or shell run code later.
    """
    root = workspace or before.workspace
    now = _scan(root, before.patterns, before.home)
    found = {Path(p) for p, fp in now.items() if before.entries.get(p) != fp}
    if deep:
        local = [p for p in before.patterns if not p.startswith("~")]
        found.update(_changed_deep(root, local, before.taken))
    return sorted(found)


DEEP_LIMIT = 200_000  # entries looked at by the deep walk, at most


# Not entered by the deep look: large, generated, and not run by a shell or git on
# their own. (A package's own scripts are a risk of a different kind: the workspace
# is the agent's output, and only files that run by themselves are protected.)
DEEP_SKIPPED = frozenset(
    {
        "node_modules",
        ".venv",
        "venv",
        "__pycache__",
        ".tox",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        "target",
        ".gradle",
        ".next",
    }
)
# Inside a git folder only these can make git run something.
GIT_KEPT = frozenset({"hooks", "modules", "worktrees", "info"})


def _changed_deep(workspace: Path, patterns: Sequence[str], since: float) -> set[Path]:
    regexes = [compile_pattern(p) for p in (*patterns, ".git")]
    # A path can only match if one of its parts is a pattern's first name; checking
    # that first keeps the walk cheap (unless a pattern starts with a wildcard).
    firsts = {p.split("/")[0] for p in (*patterns, ".git")}
    anchors = None if any(has_magic(f) for f in firsts) else firsts
    found: set[Path] = set()
    seen = 0
    base = len(str(workspace)) + 1
    for current, dirs, files in os.walk(workspace):
        names = set(files)
        is_git_dir = "HEAD" in names and "objects" in dirs
        # A new bare repository: HEAD, config, objects/ and refs/ side by side.
        if is_git_dir and "config" in names and "refs" in dirs:
            config = Path(current) / "config"
            if _changed_since(config, since):
                found.add(config)
        dirs[:] = [d for d in dirs if d not in DEEP_SKIPPED and (not is_git_dir or d in GIT_KEPT)]
        parts_here = current[base:].split("/") if len(current) >= base else []
        near = anchors is None or any(p in anchors for p in parts_here)
        for name in files:
            seen += 1
            if anchors is not None and not near and name not in anchors:
                continue
            parts = [*parts_here, name]
            if not any(r.match("/".join(parts[i:])) for i in range(len(parts)) for r in regexes):
                continue
            path = Path(current) / name
            if _changed_since(path, since):
                found.add(path)
        if seen > DEEP_LIMIT:
            break
    return found


def _changed_since(path: Path, since: float) -> bool:
    try:
        # ctime: unlike mtime, it cannot be set back by the agent.
        return path.lstat().st_ctime >= since
    except OSError:
        return False


changed_protected_files = changed_protected


@dataclass(frozen=True)
class Quarantined:
    """One file held for review: where it was, and where it is kept now."""

    original: Path
    stored: Path
    sha256: str
    mode: int = 0o644


def quarantine(paths: Sequence[Path], workspace: Path, quarantine_dir: Path) -> list[Quarantined]:
    """Move `paths` out of the workspace into a new folder of `quarantine_dir`, with a
    manifest, so they cannot run on the host. Paths outside workspace keep their
    absolute layout under `abs/`."""
    if not paths:
        return []
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
    folder = quarantine_dir / f"{stamp}-{os.getpid()}-{time.monotonic_ns() % 10**6:06d}"
    folder.mkdir(parents=True, mode=0o700)
    held: list[Quarantined] = []
    for path in paths:
        try:
            relative = path.relative_to(workspace)
            stored = folder / "files" / relative
        except ValueError:
            stored = folder / "abs" / str(path).lstrip("/")
        fingerprint = _fingerprint(path) or ""
        mode = path.lstat().st_mode & 0o7777
        stored.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            shutil.move(str(path), str(stored))
        except OSError:
            continue
        # Stored copies are data for review, never something to run.
        if not stored.is_symlink():
            stored.chmod(stored.stat().st_mode & 0o666)
        held.append(Quarantined(path, stored, fingerprint.rsplit(":", 1)[-1], mode))
    manifest = {
        "workspace": str(workspace),
        "files": [
            {
                "original": str(q.original),
                "stored": str(q.stored),
                "sha256": q.sha256,
                "mode": q.mode,
            }
            for q in held
        ],
    }
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    return held


def restore(folder: Path) -> list[Path]:
    """Put back every file of one quarantine folder where it was (after review). A file
    that exists again at its original place is left where it is."""
    manifest = json.loads((folder / MANIFEST).read_text())
    restored: list[Path] = []
    for item in manifest["files"]:
        original, stored = Path(item["original"]), Path(item["stored"])
        if original.exists() or original.is_symlink() or not stored.exists():
            continue
        original.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(stored), str(original))
        if not original.is_symlink():
            original.chmod(int(item.get("mode", 0o644)))
        restored.append(original)
    return restored
