"""Plain frozen rows and the filter of the history window and `sandgate history`.

Kept apart from the SQL (`history_queries.py`) so the GUI and the exporters see only
these: tuples of strings and numbers, safe to hand from a worker thread to the GUI.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

BANDS = ("low", "medium", "high", "critical")
SORTS = ("time", "score", "band")
UNDECIDED = "none"  # the decision filter's value for "no decision recorded"
ANY_RULE = "rule"  # the decided-by filter's value for "any rule, not a person"


@dataclass(frozen=True)
class HistoryFilter:
    """What the history shows. Empty fields do not filter. `text` is searched as words
    (each a prefix) in hosts, paths, commands, URLs and reasons; `since`/`until` are
    seconds since the epoch."""

    session: str | None = None
    workspace: str | None = None
    agent: str | None = None
    bands: tuple[str, ...] = ()
    kind: str | None = None
    decision: str | None = None  # allow / deny / UNDECIDED
    decided_by: str | None = None  # "user", ANY_RULE, or one rule id
    text: str = ""
    since: float | None = None
    until: float | None = None


@dataclass(frozen=True)
class HistoryEntry:
    """One event as the history lists it, with the latest decision on it."""

    event: int
    id: str | None
    session: str
    workspace: str | None
    agent: str | None
    ts: float
    kind: str
    path: str | None
    host: str | None
    command: str | None
    score: int | None
    band: str | None
    reasons: tuple[dict[str, Any], ...]
    decision: str | None
    scope: str | None
    decided_by: str | None
    batch: str | None
    sort_key: tuple[Any, ...] = field(default=(), compare=False, repr=False)

    @property
    def target(self) -> str:
        """What the event is about, in one string: a command, a path, a host."""
        return self.command or self.path or self.host or ""

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("sort_key")
        data["reasons"] = list(self.reasons)
        return data


@dataclass(frozen=True)
class DecisionRecord:
    """One recorded decision on an event: who (a rule id or "user"), when, how wide."""

    decision: str
    scope: str
    by: str
    batch: str | None
    ts: float
    expires: float | None


@dataclass(frozen=True)
class EventDetails:
    """Everything the details pane shows about one event."""

    entry: HistoryEntry
    raw: str  # the event as recorded, JSON
    signature: str | None
    decisions: tuple[DecisionRecord, ...]
    batch_size: int  # events decided together with this one (0 if no batch)

    def raw_pretty(self) -> str:
        try:
            return json.dumps(json.loads(self.raw), indent=2, sort_keys=True, ensure_ascii=False)
        except ValueError:
            return self.raw


@dataclass(frozen=True)
class DayCounts:
    """One day of the chart: what agents did, what reached a person, what was decided."""

    day: str  # YYYY-MM-DD, local time
    actions: int
    reached_person: int
    decisions: int


@dataclass(frozen=True)
class Choices:
    """The values the filter boxes offer, read from the store."""

    sessions: tuple[str, ...]
    workspaces: tuple[str, ...]
    agents: tuple[str, ...]
    kinds: tuple[str, ...]
    rules: tuple[str, ...]
