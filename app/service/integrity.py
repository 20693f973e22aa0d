"""The database file checked before the service trusts it, and a rolling backup.

A damaged file (a garbage header, garbage in the middle, a truncated copy) must never
be written over, nor quietly replaced by an empty one: the record is the product. At
start the service asks `ensure_usable()`: a sound file is used as it is and its daily
backup refreshed; a damaged one is moved aside under a new name (with its `-wal` and
`-shm`), the last sound backup is put in its place when there is one, and the caller
gets sentences that say what was wrong and what was saved.

Standard library `sqlite3` only: this runs before SQLAlchemy opens the file.
"""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path

HEADER = b"SQLite format 3\x00"
BACKUP_EVERY = 24 * 3600.0  # seconds between refreshes of the rolling backup


class DatabaseDamaged(RuntimeError):
    """The database file cannot be read as a sound SQLite database."""


def backup_path(path: Path) -> Path:
    return path.with_name(path.name + ".backup")


def problem(path: Path) -> str | None:
    """What is wrong with the database at `path` in words, or None if it is sound (or
    does not exist yet)."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return None
    if size == 0:
        return None
    with open(path, "rb") as handle:
        header = handle.read(len(HEADER))
    if header != HEADER:
        return "the file is not an SQLite database (its header is damaged)"
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            rows = conn.execute("PRAGMA quick_check").fetchall()
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        return f"SQLite cannot read it ({exc})"
    found = [str(r[0]) for r in rows]
    if found != ["ok"]:
        return "SQLite's check found damage (" + "; ".join(found[:3]) + ")"
    return None


def ensure_usable(path: Path, now: float | None = None) -> list[str]:
    """Make `path` safe to open; return what the user must be told (empty when all is
    well). Never deletes or overwrites a damaged file."""
    now = time.time() if now is None else now
    wrong = problem(path)
    if wrong is None:
        _refresh_backup(path, now)
        return []
    stamp = time.strftime("%Y%m%dT%H%M%S", time.localtime(now))
    aside = _free_name(path.with_name(f"{path.name}.damaged-{stamp}"))
    os.replace(path, aside)
    for suffix in ("-wal", "-shm"):
        companion = path.with_name(path.name + suffix)
        if companion.exists():
            os.replace(companion, aside.with_name(aside.name + suffix))
    said = [f"the database {path} is damaged: {wrong}", f"the damaged file was moved to {aside}"]
    backup = backup_path(path)
    if backup.exists() and problem(backup) is None:
        private_copy(backup, path)
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(backup.stat().st_mtime))
        said.append(
            f"the backup of {when} was restored; what was recorded after it is only in the "
            "moved file"
        )
    else:
        said.append("there was no sound backup: recording starts in a new, empty database")
    return said


def _refresh_backup(path: Path, now: float) -> None:
    if not path.exists() or path.stat().st_size == 0:
        return
    backup = backup_path(path)
    try:
        if now - backup.stat().st_mtime < BACKUP_EVERY:
            return
    except FileNotFoundError:
        pass
    private_copy(path, backup)


def private_copy(source: Path, target: Path) -> None:
    """A consistent copy with SQLite's online backup, private (0600), put in place by
    rename so a crash never leaves a half-written target."""
    tmp = target.with_name(target.name + ".tmp")
    fd = os.open(tmp, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
    os.close(fd)
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        dest = sqlite3.connect(tmp)
        try:
            src.backup(dest)
        finally:
            dest.close()
    finally:
        src.close()
    os.chmod(tmp, 0o600)
    os.replace(tmp, target)


def _free_name(candidate: Path) -> Path:
    n = 1
    chosen = candidate
    while chosen.exists():
        n += 1
        chosen = candidate.with_name(f"{candidate.name}.{n}")
    return chosen
