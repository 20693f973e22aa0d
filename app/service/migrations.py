"""Versioned schema migrations for the Sandgate database.

Each migration is a list of SQL statements written once and never edited afterwards:
the database of a user who installed an older Sandgate is brought forward by replaying
exactly the steps that were current then. `schema.py` describes the newest shape for
queries; this file is the history that produces it.

`schema_version` holds one row per applied migration. Before any migration runs on a
database file that already has data, the file is copied beside itself (`*.vN.bak`, mode
0600) so an upgrade that goes wrong loses nothing. A PostgreSQL server replays the same
versions from `migrations_postgres.py`, each in its own transaction (PostgreSQL's DDL is
transactional, so a failed step leaves the version before it); its backups are the
server's administrators' to keep.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import Connection, Engine, inspect, text

from app.service.migration_sql import ALERTS_BACKFILL, HISTORY_INDEXES

# version -> statements. Append only; a released entry is never changed.
MIGRATIONS: dict[int, Sequence[str]] = {
    1: (
        """CREATE TABLE sessions (
            id TEXT PRIMARY KEY,
            workspace TEXT NOT NULL,
            agent TEXT,
            command TEXT NOT NULL,
            profile TEXT,
            started REAL NOT NULL,
            ended REAL,
            exit_code INTEGER
        )""",
        """CREATE TABLE events (
            id INTEGER PRIMARY KEY,
            session TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
            seq INTEGER NOT NULL,
            kind TEXT NOT NULL,
            raw TEXT NOT NULL,
            path TEXT,
            host TEXT,
            ts REAL NOT NULL,
            UNIQUE (session, seq)
        )""",
        "CREATE INDEX events_ts ON events (ts)",
        """CREATE TABLE verdicts (
            event INTEGER PRIMARY KEY REFERENCES events(id) ON DELETE CASCADE,
            score INTEGER NOT NULL,
            band TEXT NOT NULL,
            reasons TEXT NOT NULL,
            signature TEXT NOT NULL
        )""",
        "CREATE INDEX verdicts_band ON verdicts (band)",
        """CREATE TABLE decisions (
            id INTEGER PRIMARY KEY,
            event INTEGER REFERENCES events(id) ON DELETE CASCADE,
            batch TEXT,
            decision TEXT NOT NULL,
            scope TEXT NOT NULL,
            expires REAL,
            by TEXT NOT NULL,
            ts REAL NOT NULL
        )""",
        "CREATE INDEX decisions_event ON decisions (event)",
    ),
    2: (
        """CREATE TABLE memory_changes (
            id INTEGER PRIMARY KEY,
            workspace TEXT NOT NULL,
            path TEXT NOT NULL,
            diff TEXT NOT NULL,
            session TEXT,
            ts REAL NOT NULL,
            reviewed INTEGER NOT NULL DEFAULT 0
        )""",
        "CREATE INDEX memory_changes_workspace ON memory_changes (workspace, reviewed)",
        """CREATE TABLE quarantined (
            id INTEGER PRIMARY KEY,
            session TEXT NOT NULL,
            workspace TEXT NOT NULL,
            path TEXT NOT NULL,
            stored TEXT NOT NULL,
            ts REAL NOT NULL,
            released INTEGER NOT NULL DEFAULT 0
        )""",
    ),
    3: (
        # Alerts (a decoy read, a canary seen): marked when recorded, so the inbox lists
        # them without reading every event; `acknowledged` is when a person did.
        """CREATE TABLE alerts (
            event INTEGER PRIMARY KEY REFERENCES events(id) ON DELETE CASCADE,
            acknowledged REAL
        )""",
        "CREATE INDEX alerts_open ON alerts (acknowledged)",
        ALERTS_BACKFILL,
    ),
    4: (
        *HISTORY_INDEXES,
        # Its text search: the words of each event (kind, path, host, command, URL, tool,
        # and the rules and reasons of its verdict) in an FTS5 index keyed by event id,
        # kept in step by triggers so no writer has to know it exists.
        "CREATE VIRTUAL TABLE events_text USING fts5 (words)",
        """CREATE TRIGGER events_text_add AFTER INSERT ON events BEGIN
            INSERT INTO events_text (rowid, words) VALUES (new.id,
                new.kind || ' ' || coalesce(new.path, '') || ' ' || coalesce(new.host, '')
                || ' ' || coalesce(json_extract(new.raw, '$.command'), '')
                || ' ' || coalesce(json_extract(new.raw, '$.input.command'), '')
                || ' ' || coalesce(json_extract(new.raw, '$.url'), '')
                || ' ' || coalesce(json_extract(new.raw, '$.input.url'), '')
                || ' ' || coalesce(json_extract(new.raw, '$.tool'), ''));
        END""",
        """CREATE TRIGGER events_text_reasons AFTER INSERT ON verdicts BEGIN
            UPDATE events_text SET words = words || ' ' || coalesce((
                SELECT group_concat(coalesce(json_extract(value, '$.rule'), '') || ' '
                    || coalesce(json_extract(value, '$.why'), ''), ' ')
                FROM json_each(new.reasons)), '')
            WHERE rowid = new.event;
        END""",
        """CREATE TRIGGER events_text_drop AFTER DELETE ON events BEGIN
            DELETE FROM events_text WHERE rowid = old.id;
        END""",
        # The events recorded before this version, indexed once.
        """INSERT INTO events_text (rowid, words)
            SELECT e.id,
                e.kind || ' ' || coalesce(e.path, '') || ' ' || coalesce(e.host, '')
                || ' ' || coalesce(json_extract(e.raw, '$.command'), '')
                || ' ' || coalesce(json_extract(e.raw, '$.input.command'), '')
                || ' ' || coalesce(json_extract(e.raw, '$.url'), '')
                || ' ' || coalesce(json_extract(e.raw, '$.input.url'), '')
                || ' ' || coalesce(json_extract(e.raw, '$.tool'), '')
                || ' ' || coalesce((
                    SELECT group_concat(coalesce(json_extract(value, '$.rule'), '') || ' '
                        || coalesce(json_extract(value, '$.why'), ''), ' ')
                    FROM json_each(v.reasons)), '')
            FROM events e LEFT JOIN verdicts v ON v.event = e.id""",
    ),
}

LATEST = max(MIGRATIONS)


class SchemaTooNew(RuntimeError):
    """The database was written by a newer Sandgate; it is left untouched."""


def current_version(conn: Connection) -> int:
    """The highest applied migration, 0 for an empty database."""
    if not inspect(conn).has_table("schema_version"):
        return 0
    value = conn.execute(text("SELECT MAX(version) FROM schema_version")).scalar()
    return int(value or 0)


def migrate(engine: Engine, path: Path | None, target: int = LATEST, shown: str = "") -> int:
    """Bring the database up to `target`; return the version it had before. `path` is
    its file (backed up first), None for a server; `shown` names it in errors.

    A database newer than this code is refused rather than guessed at.
    """
    postgres = engine.dialect.name == "postgresql"
    steps = _postgres_steps() if postgres else MIGRATIONS
    with engine.begin() as conn:
        if postgres:
            # Two services starting at once against one server must not both migrate.
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
        before = current_version(conn)
    if before > LATEST:
        move = "upgrade Sandgate or point it at another database"
        if path is not None:
            move = "upgrade Sandgate or move the file away"
        raise SchemaTooNew(
            f"{shown or path} has schema version {before}, newer than this Sandgate "
            f"({LATEST}); {move}"
        )
    if before >= target:
        return before
    if before > 0 and path is not None:
        backup(path, before)
    for version in range(before + 1, target + 1):
        with engine.begin() as conn:
            if postgres:
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
                if current_version(conn) >= version:  # another service did it meanwhile
                    continue
            if version == 1:
                applied = "DOUBLE PRECISION" if postgres else "REAL"
                conn.execute(
                    text(
                        "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, "
                        f"applied {applied})"
                    )
                )
            for statement in steps[version]:
                conn.execute(text(statement))
            conn.execute(
                text("INSERT INTO schema_version (version, applied) VALUES (:v, :t)"),
                {"v": version, "t": time.time()},
            )
    return before


_LOCK_KEY = 0x5A6D6761  # the advisory lock that serialises migrations on one server


def _postgres_steps() -> dict[int, Sequence[str]]:
    from app.service.migrations_postgres import MIGRATIONS as POSTGRES

    return dict(POSTGRES)


def backup(path: Path, version: int) -> Path:
    """Copy the database to `<name>.v<version>.bak` (0600) with SQLite's online backup."""
    from app.service.integrity import private_copy

    target = path.with_name(f"{path.name}.v{version}.bak")
    private_copy(path, target)
    return target
