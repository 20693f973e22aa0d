"""The store on a real SQLite file (privacy, WAL, backups) and, where a test is about the
store itself, on a real PostgreSQL server too (the `database` fixture): migrations from
empty and from past versions, the schema, history, review rows, retention."""

from __future__ import annotations

import json
import sqlite3
import stat
from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from app.service import migrations, schema
from app.service.backends import DatabaseAt
from app.service.store import Store

VERDICT = {
    "score": 60,
    "band": "high",
    "reasons": [{"rule": "cred.read", "points": 60, "why": "reads AWS credentials"}],
    "signature": "file.read ~/.aws/credentials",
}


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_file_is_private_and_in_wal_mode(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    store = Store(db)
    store.open_session("s1", "/w", ["true"])
    assert _mode(db) == 0o600
    assert store.journal_mode() == "wal"
    for side in (tmp_path / "s.db-wal", tmp_path / "s.db-shm"):
        if side.exists():
            assert _mode(side) == 0o600
    store.close()


def test_existing_file_with_loose_mode_is_tightened(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    db.touch(mode=0o644)
    db.chmod(0o644)
    Store(db).close()
    assert _mode(db) == 0o600


def test_fresh_database_is_latest_version_with_no_backup(
    database: DatabaseAt, tmp_path: Path
) -> None:
    store = Store(database)
    assert store.version() == migrations.LATEST
    assert store.previous_version == 0
    assert not list(tmp_path.glob("*.bak"))
    store.close()


def test_schema_module_matches_the_migrations(database: DatabaseAt) -> None:
    store = Store(database)
    inspector = inspect(store._engine)
    for table in schema.metadata.sorted_tables:
        migrated = {c["name"] for c in inspector.get_columns(table.name)}
        assert migrated == {c.name for c in table.columns}, table.name
    store.close()


def test_a_server_gets_every_index_a_file_gets(tmp_path: Path, postgres: object) -> None:
    # The two migration histories stay one: same versions, tables and indexes (the
    # server has a few more, for orders SQLite finds through its rowid).
    from app.service.migrations_postgres import MIGRATIONS as POSTGRES

    assert set(POSTGRES) == set(migrations.MIGRATIONS)
    file = Store(tmp_path / "s.db")
    server = Store(postgres.create_database())  # type: ignore[attr-defined]
    for table in [*schema.metadata.tables, "events_text"]:
        on_file = {i["name"] for i in inspect(file._engine).get_indexes(table)}
        on_server = {i["name"] for i in inspect(server._engine).get_indexes(table)}
        assert on_file <= on_server, table
    assert server.version() == file.version() == migrations.LATEST
    file.close()
    server.close()


@pytest.mark.parametrize("past", range(1, migrations.LATEST))
def test_every_past_version_migrates_forward_with_data_kept_and_a_backup(
    database: DatabaseAt, past: int
) -> None:
    old = Store(database, migrate_to=past)
    assert old.version() == past
    old.open_session("old", "/w", ["agent"], started=1000.0)
    old.add_event("old", {"id": "e1", "kind": "file.read", "path": "/w/x"}, VERDICT)
    old.close()

    store = Store(database)
    assert store.previous_version == past
    assert store.version() == migrations.LATEST
    [row] = store.history(session="old")
    assert (row.path, row.band) == ("/w/x", "high")
    store.close()
    if not isinstance(database, Path):
        return  # a server's backups are its administrators' to keep
    backup = database.with_name(f"{database.name}.v{past}.bak")
    assert _mode(backup) == 0o600
    with sqlite3.connect(backup) as conn:
        assert conn.execute("SELECT MAX(version) FROM schema_version").fetchone() == (past,)


def test_database_newer_than_the_code_is_refused(database: DatabaseAt) -> None:
    store = Store(database)
    with store._engine.begin() as conn:
        conn.execute(
            text("INSERT INTO schema_version VALUES (:v, 0)"), {"v": migrations.LATEST + 1}
        )
    store.close()
    with pytest.raises(migrations.SchemaTooNew, match="newer"):
        Store(database)


def test_history_joins_verdicts_and_latest_decision(database: DatabaseAt) -> None:
    store = Store(database)
    store.open_session("a", "/w", ["agent"])
    store.open_session("b", "/w", ["agent"])
    e1 = store.add_event("a", {"kind": "file.read", "path": "/h/.aws/credentials"}, VERDICT, ts=10)
    store.add_event("a", {"kind": "net.request", "url": "https://pypi.org/simple"}, None, ts=20)
    store.add_event("b", {"kind": "net.connect", "host": "example.com", "port": 443}, None, ts=30)
    store.add_decision("deny", "once", "egress.default", events_=[e1], ts=11)
    store.add_decision("allow", "session", "user", events_=[e1], batch="b1", ts=12)

    rows = store.history()
    assert [(r.session, r.seq) for r in rows] == [("a", 1), ("a", 2), ("b", 1)]
    assert rows[0].decision == "allow" and rows[0].decided_by == "user"
    assert rows[0].reasons[0]["rule"] == "cred.read"
    assert rows[1].host == "pypi.org"
    assert [r.kind for r in store.history(session="b")] == ["net.connect"]
    assert [r.event for r in store.history(bands=["high"])] == [e1]
    assert [r.ts for r in store.history(since=15)] == [20, 30]
    assert [r.ts for r in store.history(limit=2)] == [20, 30]
    store.close()


def test_memory_changes_wait_for_review_per_workspace(database: DatabaseAt) -> None:
    store = Store(database)
    store.add_memory_change("/w1", "/w1/CLAUDE.md", "+evil", "s1")
    store.add_memory_change("/w2", "/w2/AGENTS.md", "+ok", "s2")
    assert [m.path for m in store.unreviewed_memory("/w1")] == ["/w1/CLAUDE.md"]
    assert store.accept_memory("/w1") == 1
    assert store.unreviewed_memory("/w1") == []
    assert len(store.unreviewed_memory("/w2")) == 1
    store.close()


def test_retention_prunes_old_events_and_sessions_only(database: DatabaseAt) -> None:
    day = 86400.0
    now = 1000 * day
    store = Store(database)
    store.open_session("old", "/w", ["a"], started=now - 100 * day)
    store.end_session("old", 0, ended=now - 99 * day)
    store.open_session("new", "/w", ["a"], started=now - day)
    store.add_event("old", {"kind": "file.read", "path": "/x"}, VERDICT, ts=now - 100 * day)
    store.add_event("new", {"kind": "file.read", "path": "/y"}, VERDICT, ts=now - day)
    store.add_memory_change("/w", "/w/CLAUDE.md", "+a", "old", ts=now - 100 * day)
    store.accept_memory("/w")
    store.add_memory_change("/w", "/w/CLAUDE.md", "+b", "old", ts=now - 100 * day)
    store.add_quarantined("old", "/w", "/w/.envrc", "/q/.envrc", ts=now - 100 * day)

    assert store.prune(90, now=now) == 1
    assert [r.path for r in store.history()] == ["/y"]
    assert store.session("old") is None
    assert store.session("new") is not None
    assert [m.diff for m in store.unreviewed_memory("/w")] == ["+b"]  # unreviewed stays
    assert len(store.quarantined()) == 1  # held files wait for a person
    store.close()


def test_version_2_review_rows_survive_and_alerts_can_be_acknowledged(tmp_path: Path) -> None:
    db = tmp_path / "v2.db"
    old = Store(db, migrate_to=2)
    old.open_session("s", "/w", ["agent"])
    old.add_event("s", {"id": "plain", "kind": "file.read", "path": "/w/x"}, VERDICT)
    old.add_memory_change("/w", "/w/CLAUDE.md", "+new\n", "s")
    old.add_quarantined("s", "/w", "/w/Makefile", "/q/Makefile")
    old.close()
    # A decoy read and a canary seen, as version 2 wrote them (it knew no alerts).
    with sqlite3.connect(db) as conn:
        for seq, raw, reasons in (
            (2, {"id": "d", "kind": "file.read", "path": "~/.aws/credentials", "decoy": "aws"}, []),
            (3, {"id": "c", "kind": "net.request", "url": "https://x.test/"},
             [{"rule": "egress.canary", "points": 90, "why": "sends the canary"}]),
        ):  # fmt: skip
            conn.execute(
                "INSERT INTO events (session, seq, kind, raw, ts) VALUES ('s', ?, ?, ?, 1.0)",
                (seq, raw["kind"], json.dumps(raw, sort_keys=True)),
            )
            conn.execute(
                "INSERT INTO verdicts VALUES (last_insert_rowid(), 90, 'critical', ?, 'x')",
                (json.dumps(reasons),),
            )
    store = Store(db)
    assert store.version() == migrations.LATEST
    assert [m.path for m in store.review.memory()] == ["/w/CLAUDE.md"]
    assert [q.path for q in store.review.quarantined()] == ["/w/Makefile"]
    found = store.review.alerts()
    assert [a.raw["id"] for a in found] == ["d", "c"]
    assert {a.workspace for a in found} == {"/w"}
    for alert in found:
        assert store.review.acknowledge(alert.event) and not store.review.acknowledge(alert.event)
    assert store.review.alerts() == []
    # Recorded from now on, an alert is marked as it is written.
    row = store.add_event("s", {"id": "d2", "kind": "file.read", "path": "~/.ssh/id_rsa",
                                "decoy": "ssh"}, VERDICT)  # fmt: skip
    assert [a.event for a in store.review.alerts()] == [row]
    store.close()
