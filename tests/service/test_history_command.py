"""`sandgate history` reads the database with no service running."""

from __future__ import annotations

import json
import time
from datetime import datetime
from pathlib import Path

import pytest

from app.cli import main
from app.commands.history import since, visible
from app.paths import Paths
from app.service.store import Store

HIGH = {
    "score": 70,
    "band": "high",
    "reasons": [{"rule": "cred.read", "points": 70, "why": "reads AWS credentials"}],
    "signature": "file.read aws",
}
LOW = {"score": 0, "band": "low", "reasons": [], "signature": "net.connect pypi.org"}


@pytest.fixture
def recorded(configured: Path | str) -> Store:
    now = time.time()
    store = Store(configured)
    store.open_session("s1", "/w", ["claude"], started=now - 3 * 86400)
    store.open_session("s2", "/w", ["codex"], started=now - 60)
    read = store.add_event(
        "s1", {"kind": "file.read", "path": "/h/.aws/credentials"}, HIGH, ts=now - 3 * 86400
    )
    store.add_decision("deny", "once", "cred.decoy", events_=[read])
    store.add_event(
        "s2", {"kind": "net.connect", "host": "pypi.org", "port": 443}, LOW, ts=now - 60
    )
    store.add_event("s2", {"kind": "file.read", "path": "/w/\u202eevil"}, HIGH, ts=now - 30)
    store.close()
    return store


def _json(capsys: pytest.CaptureFixture[str], *args: str) -> list[dict[str, object]]:
    assert main(["history", "--json", *args]) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_json_lines_carry_the_contract_fields(
    recorded: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = _json(capsys)
    assert [r["session"] for r in rows] == ["s1", "s2", "s2"]
    first = rows[0]
    for key in ("session", "kind", "path", "host", "score", "band", "reasons", "decision"):
        assert key in first
    assert (first["decision"], first["decided_by"]) == ("deny", "cred.decoy")
    assert rows[1]["host"] == "pypi.org"


def test_filters(recorded: Store, capsys: pytest.CaptureFixture[str]) -> None:
    assert [r["kind"] for r in _json(capsys, "--session", "s2")] == ["net.connect", "file.read"]
    assert {r["band"] for r in _json(capsys, "--band", "high")} == {"high"}
    assert len(_json(capsys, "--band", "medium+")) == 2
    assert [r["session"] for r in _json(capsys, "--since", "1h")] == ["s2", "s2"]
    assert len(_json(capsys, "--since", "1970-01-02")) == 3


def test_text_output_makes_bidi_overrides_visible(
    recorded: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["history", "--session", "s2"]) == 0
    out = capsys.readouterr().out
    assert "\u202e" not in out and "\\u202eevil" in out
    assert "pypi.org" in out


def test_text_output_says_undecided_where_no_decision_was_made(
    recorded: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["history"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "[deny by cred.decoy]" in lines[0]
    assert "[undecided]" in lines[1] and "[-]" not in "".join(lines)


def test_no_database_yet(paths: Paths, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["history"]) == 0
    assert "nothing recorded" in capsys.readouterr().out
    assert not paths.database.exists()


def test_when_parses_durations_and_dates() -> None:
    assert since("2d", now=1_000_000) == 1_000_000 - 2 * 86400
    assert since("90m", now=1_000_000) == 1_000_000 - 5400
    assert since("2026-01-02") == datetime(2026, 1, 2).timestamp()
    with pytest.raises(Exception, match="neither"):
        since("yesterday")


def test_visible_escapes_controls_only() -> None:
    assert visible("a\x1b[31mb\u202ec") == "a\\u001b[31mb\\u202ec"
    assert visible("/home/zoë/x") == "/home/zoë/x"


def test_history_reads_while_a_service_runs(
    running: object, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert main(["history", "--json"]) == 0  # the running service made the file: WAL, no lock


def test_a_closed_pipe_ends_quietly(paths: Paths) -> None:
    import os
    import subprocess
    import sys

    store = Store(paths.database)
    store.open_session("s1", "/w", ["claude"])
    for n in range(3000):  # more than a pipe's buffer, so the writer meets the closed end
        store.add_event("s1", {"kind": "file.read", "path": f"/w/file-{n}"}, LOW, ts=n)
    store.close()
    for args in ([], ["--json"]):
        cmd = [sys.executable, "-m", "app.cli", "history", *args]
        history = subprocess.Popen(
            cmd, env=dict(os.environ), stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        assert history.stdout is not None
        history.stdout.readline()
        history.stdout.close()  # what `| head -1` does
        _, err = history.communicate(timeout=30)
        assert err == b"", err.decode()
        assert history.returncode == 141
