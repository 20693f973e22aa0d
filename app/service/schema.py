"""The newest shape of the database, as SQLAlchemy Core tables for queries.

The tables are created by `migrations.py`, never by `metadata.create_all`: this module
only names columns so queries are checked and readable. Keep it in step with the
latest migration (a test compares the two).
"""

from __future__ import annotations

from sqlalchemy import Column, Float, ForeignKey, Integer, MetaData, Table, Text

metadata = MetaData()

sessions = Table(
    "sessions",
    metadata,
    Column("id", Text, primary_key=True),
    Column("workspace", Text, nullable=False),
    Column("agent", Text),
    Column("command", Text, nullable=False),  # JSON list
    Column("profile", Text),
    Column("started", Float, nullable=False),
    Column("ended", Float),
    Column("exit_code", Integer),
)

events = Table(
    "events",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("session", Text, ForeignKey("sessions.id", ondelete="CASCADE"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("kind", Text, nullable=False),
    Column("raw", Text, nullable=False),  # the event as JSON, exactly as triaged
    Column("path", Text),
    Column("host", Text),
    Column("ts", Float, nullable=False),
)

verdicts = Table(
    "verdicts",
    metadata,
    Column("event", Integer, ForeignKey("events.id", ondelete="CASCADE"), primary_key=True),
    Column("score", Integer, nullable=False),
    Column("band", Text, nullable=False),
    Column("reasons", Text, nullable=False),  # JSON list of {rule, points, why}
    Column("signature", Text, nullable=False),
)

decisions = Table(
    "decisions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("event", Integer, ForeignKey("events.id", ondelete="CASCADE")),
    Column("batch", Text),
    Column("decision", Text, nullable=False),  # allow / deny
    Column("scope", Text, nullable=False),  # once / session / workspace / always
    Column("expires", Float),
    Column("by", Text, nullable=False),  # a rule id, or "user"
    Column("ts", Float, nullable=False),
)

memory_changes = Table(
    "memory_changes",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("workspace", Text, nullable=False),
    Column("path", Text, nullable=False),
    Column("diff", Text, nullable=False),
    Column("session", Text),
    Column("ts", Float, nullable=False),
    Column("reviewed", Integer, nullable=False, default=0),
)

quarantined = Table(
    "quarantined",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("session", Text, nullable=False),
    Column("workspace", Text, nullable=False),
    Column("path", Text, nullable=False),  # where the file was in the workspace
    Column("stored", Text, nullable=False),  # where it is held now
    Column("ts", Float, nullable=False),
    Column("released", Integer, nullable=False, default=0),  # 1 restored, 2 discarded
)

alerts = Table(
    "alerts",
    metadata,
    Column("event", Integer, ForeignKey("events.id", ondelete="CASCADE"), primary_key=True),
    Column("acknowledged", Float),  # when a person acknowledged it; NULL while open
)
