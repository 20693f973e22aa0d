"""What the decision queue holds: batches of requests, each member with its verdict and
the future its requester awaits. Plain records; `queue.py` moves them along."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

from app.service.remembered import BANDS as _BANDS
from app.service.remembered import rank
from sandbox.proxy.session import Answer


class QueueError(ValueError):
    """A decision the queue refuses (unknown batch, bad scope, critical without confirm)."""


@dataclass
class Member:
    """One held (or formerly held) request of a batch."""

    event: dict[str, Any]
    verdict: dict[str, Any]
    session: str
    workspace: str | None
    future: asyncio.Future[Answer] | None
    key: str = ""  # its remembered-decision key (`decision_key`), worked out once
    timer: asyncio.TimerHandle | None = None

    @property
    def waiting(self) -> bool:
        return self.future is not None and not self.future.done()

    def to_dict(self) -> dict[str, Any]:
        event = self.event
        if event.get("kind") == "net.request":
            summary = f"{event.get('method', '')} {event.get('url', '')}"
        elif event.get("kind") == "tool.call":  # held by an agent's permission hook
            summary = f"{event.get('tool', '')} {json.dumps(event.get('input', {}))[:300]}"
        else:
            summary = f"{event.get('host', '')}:{event.get('port', '')}"
        return {
            "event": event.get("id"),
            "session": self.session,
            "kind": event.get("kind"),
            "summary": summary,
            "score": self.verdict.get("score", 0),
            "band": self.verdict.get("band", "low"),
            "reasons": self.verdict.get("reasons", []),
            "waiting": self.waiting,
            "answer": self.answer,
        }

    @property
    def answer(self) -> str | None:
        """Who answered it: `person`, `timeout`, `paused`, `closed`; None while waiting."""
        if self.future is None or not self.future.done() or self.future.cancelled():
            return None
        return self.future.result().by


@dataclass
class Batch:
    """Requests of one signature. Members are only ever added (`add`), so its band and
    score are kept as they join: a change about one member then costs one member, not
    a walk over the two hundred before it."""

    id: str
    signature: str
    created: float
    members: list[Member] = field(default_factory=list)
    _rank: int = field(default=0, repr=False)
    _score: int = field(default=0, repr=False)
    sessions: set[str] = field(default_factory=set)  # of its members

    def add(self, member: Member) -> None:
        self.members.append(member)
        self.sessions.add(member.session)
        self._rank = max(self._rank, rank(str(member.verdict.get("band", "low"))))
        self._score = max(self._score, int(member.verdict.get("score", 0)))

    @property
    def band(self) -> str:
        return _BANDS[self._rank]

    @property
    def score(self) -> int:
        return self._score

    @property
    def state(self) -> str:
        # The newest members are the likeliest to wait: look from the end.
        return "pending" if any(m.waiting for m in reversed(self.members)) else "expired"

    def header(self) -> dict[str, Any]:
        """The batch without its members: what a change about one member carries, so a
        burst of joins costs one member each, not the whole batch again."""
        return {
            "batch": self.id,
            "signature": self.signature,
            "state": self.state,
            "band": self.band,
            "score": self.score,
            "created": self.created,
            "count": len(self.members),
        }

    def to_dict(self) -> dict[str, Any]:
        return {**self.header(), "members": [m.to_dict() for m in self.members]}
