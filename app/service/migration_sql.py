"""SQL both stores run as they are, in the migrations of both (`migrations.py` for
SQLite, `migrations_postgres.py` for a server): one text, so they cannot drift."""

# Version 3: alerts recorded before the table existed, found once by their text.
ALERTS_BACKFILL = """INSERT INTO alerts (event)
            SELECT events.id FROM events LEFT JOIN verdicts ON verdicts.event = events.id
            WHERE (events.kind = 'file.read' AND events.raw LIKE '%"decoy": %')
               OR verdicts.reasons LIKE '%.canary"%'"""

# Version 4: the history window's filters and sorts, each served by an index, and narrow
# copies of what a filter checks, so a text search that finds tens of thousands of
# events checks them without reading each wide row (`raw`, `reasons`).
HISTORY_INDEXES = (
    "CREATE INDEX events_session_ts ON events (session, ts)",
    "CREATE INDEX events_kind_ts ON events (kind, ts)",
    "CREATE INDEX verdicts_score ON verdicts (score)",
    "CREATE INDEX decisions_decision ON decisions (decision, event)",
    "CREATE INDEX decisions_by ON decisions (by, event)",
    "CREATE INDEX decisions_ts ON decisions (ts)",
    "CREATE INDEX sessions_workspace ON sessions (workspace)",
    "CREATE INDEX sessions_agent ON sessions (agent)",
    "CREATE INDEX events_narrow ON events (id, ts, session, kind)",
    "CREATE INDEX verdicts_narrow ON verdicts (event, band, score)",
)
