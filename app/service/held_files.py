"""Quarantined files on disk: a preview for review, putting one back, throwing one away.

A file is held in a quarantine folder of its session with a manifest (`sandbox.protect`)
that remembers its mode; the copy is stored without execute bits, so restoring gives
them back from the manifest. These run off the event loop (on the database thread).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from pathlib import Path

from sandbox.protect import MANIFEST

PREVIEW_BYTES = 64 * 1024


class HeldFileError(ValueError):
    """A held file that cannot be put back or found; the message says why."""


def preview(stored: Path) -> str:
    """The start of a held file as text, or a line saying what it is when it is not text."""
    try:
        if stored.is_symlink():
            return f"(a symbolic link to {os.readlink(stored)})"
        with open(stored, "rb") as handle:
            data = handle.read(PREVIEW_BYTES + 1)
    except OSError as exc:
        return f"(cannot read the held copy: {exc.strerror})"
    if b"\0" in data:
        return f"(binary, {stored.stat().st_size} bytes)"
    text = data[:PREVIEW_BYTES].decode("utf-8", errors="replace")
    return text + ("\n… (cut)" if len(data) > PREVIEW_BYTES else "")


def restore(original: Path, stored: Path) -> None:
    """Move `stored` back to `original` with its old mode; refuse to overwrite."""
    if original.exists() or original.is_symlink():
        raise HeldFileError(f"{original} exists again: move it away first, then restore")
    if not (stored.exists() or stored.is_symlink()):
        raise HeldFileError(f"the held copy {stored} is gone")
    original.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(str(stored), str(original))  # a rename when on the same file system
    mode = _manifest_mode(stored)
    if mode is not None and not original.is_symlink():
        original.chmod(mode)


def discard(stored: Path) -> None:
    """Delete the held copy (a missing one is already discarded)."""
    with contextlib.suppress(FileNotFoundError):
        stored.unlink()


def _manifest_mode(stored: Path) -> int | None:
    """The mode the manifest of `stored`'s quarantine folder recorded for it."""
    for folder in stored.parents:
        manifest = folder / MANIFEST
        if manifest.is_file():
            try:
                files = json.loads(manifest.read_text()).get("files", [])
            except (OSError, ValueError):
                return None
            for entry in files:
                if entry.get("stored") == str(stored):
                    return int(entry.get("mode", 0o644))
            return None
    return None
