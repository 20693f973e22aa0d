"""A damaged database is named, moved aside (never over anything) and its backup restored;
sessions left open by a killed service are closed at the next start."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from app.client import connect
from app.paths import Paths
from app.service.integrity import backup_path, ensure_usable, problem
from app.service.store import Store


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=60,
    )


def _serve_once(paths: Paths) -> str:
    """Start `sandgate service`, wait until it answers, stop it; its standard error."""
    process = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "service"],
        env=dict(os.environ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 20
        while (client := connect(paths)) is None:
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "the service did not start"
            time.sleep(0.05)
        client.close()
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, err
    return err


def _recorded(paths: Paths, *events: str) -> None:
    store = Store(paths.database)
    store.open_session("s1", "/w", ["agent"])
    for path in events:
        store.add_event("s1", {"kind": "file.read", "path": path})
    store.end_session("s1", 0)
    store.close()


def _moved_aside(paths: Paths) -> list[Path]:
    """The damaged database files moved aside (their -wal and -shm go with them)."""
    prefix = paths.database.name + ".damaged-"
    return [
        p
        for p in paths.database.parent.iterdir()
        if p.name.startswith(prefix) and not p.name.endswith(("-wal", "-shm"))
    ]


def _garbage_header(db: Path) -> None:
    data = bytearray(db.read_bytes())
    data[:16] = b"this is garbage!"
    db.write_bytes(bytes(data))


def _garbage_middle(db: Path) -> None:
    data = bytearray(db.read_bytes())
    page = int.from_bytes(data[16:18], "big")
    for start in range(page, len(data), page):  # every page after the first
        data[start : start + 64] = os.urandom(64)
    db.write_bytes(bytes(data))


def _truncated(db: Path) -> None:
    data = db.read_bytes()
    db.write_bytes(data[: len(data) // 2 + 7])


def _fill(paths: Paths, count: int) -> None:
    store = Store(paths.database)
    store.open_session("big", "/w", ["agent"])
    for n in range(count):
        store.add_event("big", {"kind": "file.read", "path": f"/w/file-{n}-" + "x" * 200})
    store.end_session("big", 0)
    store.close()
    # Fold the WAL into the main file so the damage below hits real content.
    import sqlite3

    conn = sqlite3.connect(paths.database)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


@pytest.mark.parametrize("damage", [_garbage_header, _garbage_middle, _truncated])
def test_a_damaged_database_is_named_moved_aside_and_its_backup_restored(
    paths: Paths, damage: Callable[[Path], None]
) -> None:
    _recorded(paths, "/w/before-backup")
    assert "damaged" not in _serve_once(paths)
    assert backup_path(paths.database).exists()  # the rolling backup of a sound file
    _fill(paths, 400)  # recorded after the backup
    damage(paths.database)
    damaged_bytes = paths.database.read_bytes()
    assert problem(paths.database) is not None

    # The read-only command says what is wrong in a sentence and touches nothing.
    history = _cli("history")
    assert history.returncode == 1
    assert "Traceback" not in history.stderr
    assert "damaged" in history.stderr or "cannot be read" in history.stderr
    assert paths.database.read_bytes() == damaged_bytes

    err = _serve_once(paths)
    assert "Traceback" not in err
    assert f"the database {paths.database} is damaged" in err
    moved = _moved_aside(paths)
    assert len(moved) == 1 and moved[0].read_bytes() == damaged_bytes
    assert str(moved[0]) in err and "backup of" in err and "was restored" in err

    restored = _cli("history", "--json")
    assert restored.returncode == 0, restored.stderr
    assert "/w/before-backup" in restored.stdout


def test_without_a_backup_recording_starts_anew_and_the_damaged_file_is_kept(
    paths: Paths,
) -> None:
    _recorded(paths, "/w/a")
    _garbage_header(paths.database)
    said = ensure_usable(paths.database)
    assert any("no sound backup" in line for line in said)
    assert not paths.database.exists()
    (kept,) = _moved_aside(paths)
    assert kept.read_bytes()[:16] == b"this is garbage!"
    # A second damaged file never lands on the first one's name.
    _recorded(paths, "/w/b")
    _garbage_header(paths.database)
    ensure_usable(paths.database, now=kept.stat().st_mtime)
    assert len(_moved_aside(paths)) == 2


def test_a_sound_database_is_used_as_it_is(paths: Paths) -> None:
    _recorded(paths, "/w/a")
    assert ensure_usable(paths.database) == []
    assert paths.database.exists()
    assert oct(backup_path(paths.database).stat().st_mode & 0o777) == "0o600"


def test_a_session_left_open_by_a_killed_service_is_closed_at_the_next_start(
    short_runtime: Path, tmp_path: Path
) -> None:
    paths = Paths.from_environment().ensure()
    workspace = tmp_path / "work"
    workspace.mkdir()
    process = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "service"],
        env=dict(os.environ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while (client := connect(paths)) is None:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        opened = client.request(
            "session.open", workspace=str(workspace), command=["true"], env=dict(os.environ)
        )
        session = opened["session"]
        process.kill()  # kill -9: nothing closes the session
        process.wait(timeout=10)
        client.close()
    finally:
        if process.poll() is None:
            process.kill()
    store = Store(paths.database)
    row = store.session(session)
    assert row is not None and row.ended is None
    store.close()
    _serve_once(paths)
    store = Store(paths.database)
    row = store.session(session)
    store.close()
    assert row is not None and row.ended is not None
