"""Where the store lives: an SQLite file (one person's history) or a PostgreSQL server
(a team's one audit trail), and the SQLAlchemy engine that reaches it.

A store is named by a `DatabaseAt`: a `Path` is an SQLite file, a string is a
`postgresql://` URL (from `database_url:` in config.yaml or `SANDGATE_DATABASE_URL`,
see `app/settings.py`). Everything above this module uses the same SQLAlchemy code for
both; the few places the dialects differ ask `is_server()`.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import StaticPool

DatabaseAt = Path | str  # an SQLite file, or a PostgreSQL server's URL

SCHEMES = ("postgresql", "postgres", "postgresql+psycopg")
CONNECT_TIMEOUT = 5  # seconds: a server that does not answer is an error at start-up


class DatabaseUnreachable(RuntimeError):
    """The configured database server cannot be reached or refused the connection."""


def is_server(at: DatabaseAt) -> bool:
    return isinstance(at, str)


def is_server_url(url: str) -> bool:
    """Whether `url` names a PostgreSQL server Sandgate can use."""
    return url.split("://", 1)[0].lower() in SCHEMES and "://" in url


def shown(at: DatabaseAt) -> str:
    """The database as a person may see it: the file, or the URL without its password."""
    if isinstance(at, Path):
        return str(at)
    try:
        url = make_url(at)
    except Exception:  # an unparsable URL is shown only up to its host part
        return at.split("://", 1)[0] + "://…"
    # `URL.set(password=None)` would keep it: None there means "unchanged".
    bare = URL.create(url.drivername, url.username, None, url.host, url.port, url.database)
    return bare.update_query_dict(dict(url.query)).render_as_string(hide_password=False)


def _driver_url(url: str) -> str:
    """The URL for SQLAlchemy with psycopg 3 as its driver (its default is psycopg2)."""
    scheme, rest = url.split("://", 1)
    return "postgresql+psycopg://" + rest if scheme.lower() in SCHEMES else url


def server_engine(url: str, *, readonly: bool = False) -> Engine:
    """An engine on the server at `url`; `readonly` connections refuse every write (the
    history's reads, as the SQLite side opens the file read-only)."""
    engine = create_engine(
        _driver_url(url),
        pool_pre_ping=True,  # a server restarted since: reconnect rather than fail once
        pool_size=2,
        max_overflow=2,
        connect_args={"connect_timeout": CONNECT_TIMEOUT, "application_name": "sandgate"},
    )
    if readonly:

        @event.listens_for(engine, "connect")
        def _readonly(dbapi_conn: Any, _record: Any) -> None:
            with dbapi_conn.cursor() as cursor:
                cursor.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
            dbapi_conn.commit()

    return engine


def unreachable(at: DatabaseAt, exc: BaseException) -> DatabaseUnreachable:
    """The error for a server that failed us, in one sentence naming it (no password)."""
    return DatabaseUnreachable(
        f"cannot reach the database {shown(at)} ({reason(exc)}); start it, or correct "
        "database_url in config.yaml or SANDGATE_DATABASE_URL"
    )


def reason(exc: BaseException) -> str:
    """The driver's own words for what went wrong, on one line."""
    inner = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    lines = [line.strip() for line in str(inner).splitlines() if line.strip()]
    first = lines[0] if lines else type(inner).__name__
    for noise in ("connection failed: ", "(psycopg.OperationalError) "):
        first = first.removeprefix(noise)
    return first.rstrip(".")


def reach(engine: Engine, at: DatabaseAt) -> None:
    """Connect once, so a dead server is an error now rather than at the first event."""
    try:
        with engine.connect():
            pass
    except DBAPIError as exc:
        engine.dispose()
        raise unreachable(at, exc) from None


def connect_readonly(path: Path) -> sqlite3.Connection:
    """A read-only connection to the database at `path`, usable from one other thread."""
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False)
    conn.execute("PRAGMA query_only=ON")
    # A text search over a million events looks up tens of thousands of rows by id;
    # SQLite's default 2 MB page cache would read most of them from the file again on
    # every keystroke. Memory-mapped reads and a larger cache keep them at hand.
    conn.execute("PRAGMA mmap_size=268435456")
    conn.execute("PRAGMA cache_size=-65536")
    return conn


def readonly_engine(at: DatabaseAt) -> Engine:
    """An engine that only reads: the file's one read-only connection, or a server's
    read-only sessions (reached once, so a dead server is an error now)."""
    if isinstance(at, Path):
        path = at
        return create_engine(
            "sqlite://", creator=lambda: connect_readonly(path), poolclass=StaticPool
        )
    engine = server_engine(at, readonly=True)
    reach(engine, at)
    return engine
