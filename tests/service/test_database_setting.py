"""Where the store is and how long it keeps: config.yaml and SANDGATE_DATABASE_URL, on a
real SQLite file and a real PostgreSQL server; a dead server is one sentence at start-up,
and a session never runs unrecorded."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from app.client import ServiceError, connect
from app.paths import Paths
from app.service.backends import DatabaseUnreachable, shown
from app.service.runtime import start_in_thread
from app.service.store import Store
from app.settings import RETENTION_DAYS, Settings, SettingsError, load_settings
from tests.service.conftest import FakeSandbox, FakeTriage
from tests.service.test_service_command import _start, _wait_for_socket

DEAD = "postgresql://auditor:hunter2@127.0.0.1:1/audit"  # nothing listens on port 1


def _configure(paths: Paths, text: str) -> Path:
    file = paths.config / "config.yaml"
    file.write_text(text)
    return file


def test_settings_come_from_the_file_and_the_environment_wins(paths: Paths) -> None:
    assert load_settings(paths, {}) == Settings(None, RETENTION_DAYS)
    assert Settings().database(paths) == paths.database
    _configure(
        paths, "# the team's trail\ndatabase_url: postgresql://db/audit\nretention_days: 30\n"
    )
    assert load_settings(paths, {}) == Settings("postgresql://db/audit", 30.0)
    wins = {"SANDGATE_DATABASE_URL": "postgresql://other/x"}
    assert load_settings(paths, wins).database(paths) == "postgresql://other/x"


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("retention_days: 30\ndatabase: x\n", "line 2: unknown setting 'database'"),
        ("retention_days: -1\n", "line 1: retention_days must be a number of days above 0"),
        ("retention_days: soon\n", "line 1: retention_days must be a number"),
        ("\ndatabase_url: mysql://db/x\n", "line 2: database_url must be a postgresql:// URL"),
        ("database_url: [a, b]\n", "line 1: database_url takes one value"),
        ("retention_days: 30\n  bad: [\n", "line 2"),
        ("- a list\n", "line 1: expected `name: value` lines"),
    ],
)
def test_a_mistake_in_the_file_names_its_line(paths: Paths, text: str, said: str) -> None:
    file = _configure(paths, text)
    with pytest.raises(SettingsError) as error:
        load_settings(paths, {})
    assert str(error.value).startswith(f"{file} {said}")
    assert "\n" not in str(error.value)


def test_the_environment_must_name_a_server(paths: Paths) -> None:
    with pytest.raises(SettingsError, match="SANDGATE_DATABASE_URL must be a postgresql://"):
        load_settings(paths, {"SANDGATE_DATABASE_URL": "/tmp/x.db"})


def test_shown_drops_the_password() -> None:
    assert shown(DEAD) == "postgresql://auditor@127.0.0.1:1/audit"
    assert shown(Path("/d/sandgate.db")) == "/d/sandgate.db"


def test_start_up_prunes_to_the_configured_retention_on_each_store(configured: Path | str) -> None:
    paths = Paths.from_environment()
    _configure(paths, "retention_days: 30\n")
    store = Store(configured)
    store.open_session("old", "/w", ["a"], started=1000.0)
    store.end_session("old", 0, ended=1001.0)
    store.add_event("old", {"kind": "file.read", "path": "/x"}, ts=1000.0)
    store.open_session("new", "/w", ["a"])
    store.add_event("new", {"kind": "file.read", "path": "/y"})
    store.close()
    service = _start()
    try:
        _wait_for_socket(paths, service)
        client = connect(paths)
        assert client is not None
        rows = client.request("history")["rows"]
        client.close()
    finally:
        service.send_signal(signal.SIGINT)
        out, _ = service.communicate(timeout=20)
    assert [r["path"] for r in rows] == ["/y"]
    assert f"database {shown(configured)}" in out


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_an_unreachable_server_is_one_sentence_and_nothing_runs(
    paths: Paths, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _configure(paths, f"database_url: {DEAD}\n")
    said = "sandgate: cannot reach the database postgresql://auditor@127.0.0.1:1/audit ("
    service = _run("service")
    assert service.returncode == 1
    assert service.stderr.startswith(said) and service.stderr.count("\n") == 1, service.stderr
    assert "hunter2" not in service.stderr + service.stdout
    assert "Traceback" not in service.stderr
    # `sandgate run` with no service running starts one: it refuses, the agent never runs.
    marker = tmp_path / "ran"
    run = _run("run", "--", "touch", str(marker))
    assert run.returncode == 1 and run.stderr.startswith(said), run.stderr
    assert not marker.exists()
    history = _run("history")
    assert history.returncode == 1 and history.stderr.startswith(said), history.stderr
    # The environment names a server that is not there: the same.
    _configure(paths, "")
    monkeypatch.setenv("SANDGATE_DATABASE_URL", "postgresql://auditor@/audit?host=/nonexistent")
    service = _run("service")
    assert service.returncode == 1
    assert service.stderr.startswith("sandgate: cannot reach the database postgresql://auditor@")


def test_the_store_refuses_a_dead_server_in_one_sentence() -> None:
    with pytest.raises(DatabaseUnreachable) as error:
        Store(DEAD)
    message = str(error.value)
    assert message.startswith("cannot reach the database postgresql://auditor@127.0.0.1:1/audit")
    assert "hunter2" not in message and "\n" not in message


def test_a_session_does_not_open_once_the_server_is_gone(
    paths: Paths, postgres: object, workspace: Path
) -> None:
    url = postgres.create_database()  # type: ignore[attr-defined]
    service = start_in_thread(
        paths,
        settings=Settings(database_url=url),
        sandbox=FakeSandbox(),
        triage=FakeTriage(),
        extensions=(),
    )
    try:
        client = connect(paths)
        assert client is not None
        opened = client.request("session.open", workspace=str(workspace), command=["agent"])
        client.request("session.close", session=opened["session"], exit_code=0)
        postgres.drop_database(url)  # type: ignore[attr-defined]
        with pytest.raises(ServiceError, match="cannot record this session") as refused:
            client.request("session.open", workspace=str(workspace), command=["agent"])
        assert "so it does not start" in str(refused.value)
        assert client.request("sessions")["sessions"] == []
        assert list(paths.sessions.iterdir()) == []  # its folder went with it
        client.close()
    finally:
        service.stop()


def test_a_server_whose_user_cannot_make_the_tables_says_so(postgres: object) -> None:
    import psycopg

    url = postgres.create_database()  # type: ignore[attr-defined]
    folder = str(postgres.folder)  # type: ignore[attr-defined]
    with psycopg.connect(host=folder, user="sandgate", dbname="postgres") as conn:
        conn.autocommit = True
        conn.execute("CREATE ROLE onlooker LOGIN")  # PostgreSQL 15: no CREATE on public
    with pytest.raises(DatabaseUnreachable) as error:
        Store(url.replace("sandgate@", "onlooker@"))
    message = str(error.value)
    assert message.startswith("cannot set up the database postgresql://onlooker@")
    assert "permission denied" in message and "\n" not in message
