"""`sandgate history`: recorded events with their verdicts and decisions.

Reads the store directly (an SQLite file in WAL mode allows it while the service writes;
a PostgreSQL server configured as `database_url` is read over read-only sessions), so it
works whether or not a service runs.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
import unicodedata
from datetime import datetime
from pathlib import Path
from typing import Any

BANDS = ("low", "medium", "high", "critical")
DEFAULT_LIMIT = 1000
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--session", metavar="ID", help="only this session")
    parser.add_argument(
        "--band",
        choices=[*BANDS, *(b + "+" for b in BANDS)],
        help="only this band (BAND+ for this band and above)",
    )
    parser.add_argument(
        "--since",
        metavar="WHEN",
        type=since,
        help="only newer than WHEN: 30m, 1h, 2d, or an ISO date",
    )
    parser.add_argument(
        "--limit",
        type=int,
        help=f"at most the last N events (default {DEFAULT_LIMIT}; with --format, all)",
    )
    parser.add_argument("--json", action="store_true", help="JSON Lines, one event per line")
    parser.add_argument(
        "--format",
        choices=("csv", "jsonl"),
        help="export the filtered events, newest first, as the history window does "
        "(with no --limit given, all of them)",
    )
    parser.add_argument("--until", metavar="WHEN", type=since, help="only older than WHEN")
    parser.add_argument("--workspace", metavar="DIR", help="only sessions in this workspace")
    parser.add_argument("--agent", metavar="NAME", help="only sessions of this agent")
    parser.add_argument("--kind", metavar="KIND", help="only events of this kind (file.read, …)")
    parser.add_argument(
        "--decision", choices=("allow", "deny", "none"), help="only events decided so"
    )
    parser.add_argument(
        "--by", metavar="WHO", help="only events decided by: user, rule (any rule), or a rule id"
    )
    parser.add_argument(
        "--search",
        metavar="WORDS",
        help="only events whose host, path, command or reasons hold every word (each as a prefix)",
    )
    parser.add_argument(
        "--window", action="store_true", help="open the history window instead of printing"
    )


def since(when: str, now: float | None = None) -> float:
    """Seconds since the epoch for `1h`, `2d`, … ago, or an ISO date or date-time."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([smhdw])", when.strip())
    if match:
        return (time.time() if now is None else now) - float(match[1]) * _UNITS[match[2]]
    try:
        return datetime.fromisoformat(when.strip()).timestamp()
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{when!r} is neither a duration like 1h or 2d nor an ISO date"
        ) from None


def visible(text: str) -> str:
    """Agent-written text with control and bidirectional-override characters made visible."""
    return "".join(
        f"\\u{ord(c):04x}" if unicodedata.category(c) in ("Cc", "Cf") else c for c in text
    )


def main(args: argparse.Namespace) -> int:
    from sqlalchemy.exc import DBAPIError

    from app.paths import Paths
    from app.service.backends import DatabaseUnreachable, shown
    from app.service.history_op import bands_for
    from app.service.integrity import DatabaseDamaged
    from app.service.migrations import SchemaTooNew
    from app.service.store import Store
    from app.settings import SettingsError, load_settings

    paths = Paths.from_environment()
    try:
        settings = load_settings(paths)
    except SettingsError as exc:
        print(f"sandgate: {exc}", file=sys.stderr)
        return 1
    database = settings.database(paths)
    if args.window:
        from app.commands.tray import has_display

        if not has_display():
            print("sandgate: no display here for the history window; use `sandgate history`")
            return 1
        from app.commands.leave import leave
        from app.trust.saving import PolicyFiles
        from app.ui.history_window import run

        return leave(run(database, settings.retention_days, PolicyFiles.of(paths.user_policy)))
    if args.format:
        return _export(args, database)
    if isinstance(database, Path) and not database.exists():
        if not args.json:
            print("sandgate: nothing recorded yet")
        return 0
    try:
        store = Store(database)
    except (SchemaTooNew, DatabaseDamaged, DatabaseUnreachable) as exc:
        print(f"sandgate: {exc}", file=sys.stderr)
        return 1
    try:
        rows = store.history(
            session=args.session,
            bands=bands_for(args.band),
            since=args.since,
            limit=DEFAULT_LIMIT if args.limit is None else args.limit,
        )
    except DBAPIError as exc:  # damage deeper in the file than its header, a server gone
        if not isinstance(database, Path):
            from app.service.backends import unreachable

            print(f"sandgate: {unreachable(database, exc)}", file=sys.stderr)
            return 1
        print(
            f"sandgate: the database {shown(database)} is damaged ({exc.orig}); start the "
            "service (`sandgate start`) to move it aside and restore its backup",
            file=sys.stderr,
        )
        return 1
    finally:
        store.close()
    try:
        _print(rows, args.json)
    except BrokenPipeError:  # `sandgate history | head`
        from app.commands.pipes import reader_gone

        return reader_gone()
    return 0


def _print(rows: list[Any], as_json: bool) -> None:
    for row in rows:
        if as_json:
            print(json.dumps(row.to_dict(), sort_keys=True))
            continue
        stamp = datetime.fromtimestamp(row.ts).isoformat(sep=" ", timespec="seconds")
        target = visible(row.path or row.host or "")
        rules = ",".join(str(r.get("rule")) for r in row.reasons)
        verdict = f"{row.band or '-':8} {row.score if row.score is not None else '-':>3}"
        decision = row.decision or "undecided"
        if row.decided_by:
            decision += f" by {row.decided_by}"
        print(f"{stamp}  {row.session}  {verdict}  {row.kind:12} {target}  [{decision}] {rules}")
    sys.stdout.flush()  # a closed pipe is noticed here, not in the interpreter's exit


def _export(args: argparse.Namespace, database: object) -> int:
    """`--format csv|jsonl`: the window's export, written to standard output."""
    from app.service.backends import DatabaseUnreachable
    from app.service.history_export import export
    from app.service.history_op import bands_for
    from app.service.history_queries import HistoryQueries
    from app.service.history_rows import HistoryFilter
    from app.service.migrations import SchemaTooNew
    from app.service.store import Store

    assert isinstance(database, Path | str)
    if isinstance(database, Path) and not database.exists():
        return 0  # nothing recorded: an empty export (a CSV header would claim a file)
    try:
        Store(database).close()  # an older database is brought forward first
    except (SchemaTooNew, DatabaseUnreachable) as exc:
        print(f"sandgate: {exc}", file=sys.stderr)
        return 1
    where = HistoryFilter(
        session=args.session,
        workspace=args.workspace,
        agent=args.agent,
        bands=tuple(bands_for(args.band) or ()),
        kind=args.kind,
        decision=args.decision,
        decided_by=args.by,
        text=args.search or "",
        since=args.since,
        until=args.until,
    )
    queries = HistoryQueries(database)
    try:
        export(queries, where, args.format, sys.stdout, limit=args.limit)
    finally:
        queries.close()
    return 0
