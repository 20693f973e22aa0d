"""Plain frozen rows that leave the store. Nothing outside `store.py` sees SQLAlchemy."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class SessionRow:
    id: str
    workspace: str
    agent: str | None
    command: tuple[str, ...]
    profile: str | None
    started: float
    ended: float | None
    exit_code: int | None


@dataclass(frozen=True)
class HistoryRow:
    """One event with its verdict and the latest decision on it, if any. `event` is the
    row's number here; `id` is the event's own id (the one `sandgate queue` shows)."""

    event: int
    id: str | None
    session: str
    seq: int
    ts: float
    kind: str
    path: str | None
    host: str | None
    score: int | None
    band: str | None
    reasons: tuple[dict[str, Any], ...]
    signature: str | None
    decision: str | None
    decided_by: str | None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["reasons"] = list(self.reasons)
        return data


@dataclass(frozen=True)
class MemoryChange:
    id: int
    workspace: str
    path: str
    diff: str
    session: str | None
    ts: float
    reviewed: bool

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class QuarantinedFile:
    id: int
    session: str
    workspace: str
    path: str
    stored: str
    ts: float
