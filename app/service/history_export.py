"""Writing the history's filtered rows as CSV or JSON Lines, page by page.

The same writer serves `sandgate history --format csv|jsonl` and the history window's
export (there on a worker thread, reporting progress and stopping when cancelled), so
both produce the same file for the same filter.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from typing import Any, TextIO

from app.service.history_queries import HistoryQueries
from app.service.history_rows import HistoryEntry, HistoryFilter

FORMATS = ("csv", "jsonl")
FIELDS = (
    "event", "id", "ts", "session", "workspace", "agent", "kind", "path", "host", "command",
    "score", "band", "reasons", "decision", "scope", "decided_by", "batch",
)  # fmt: skip
CHUNK = 2000


def csv_row(entry: HistoryEntry) -> list[Any]:
    """One CSV line: reasons as their JSON text, absent values empty."""
    data = entry.to_dict()
    data["reasons"] = json.dumps(data["reasons"], sort_keys=True)
    return ["" if data[f] is None else data[f] for f in FIELDS]


def export(
    queries: HistoryQueries,
    where: HistoryFilter,
    fmt: str,
    out: TextIO,
    *,
    sort: str = "time",
    limit: int | None = None,
    progress: Callable[[int], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> int:
    """Write every row `where` keeps (at most `limit`) to `out` in `fmt`; return how
    many were written. Reads in keyset pages, so memory stays one page whatever the size."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}: use csv or jsonl")
    writer = csv.writer(out) if fmt == "csv" else None
    if writer is not None:
        writer.writerow(FIELDS)
    written = 0
    after: tuple[Any, ...] | None = None
    while limit is None or written < limit:
        size = CHUNK if limit is None else min(CHUNK, limit - written)
        page = queries.page(where, sort, after, size)
        for entry in page:
            if writer is not None:
                writer.writerow(csv_row(entry))
            else:
                out.write(json.dumps(entry.to_dict(), sort_keys=True) + "\n")
        written += len(page)
        if progress is not None:
            progress(written)
        if len(page) < size or (cancelled is not None and cancelled()):
            break
        after = page[-1].sort_key
    return written
