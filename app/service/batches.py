"""What the decision queue holds: batches of requests, each member with its verdict and
the future its requester awaits. Plain records; `queue.py` moves them along."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

from app.service.remembered import BANDS as _BANDS
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
    id: str
    signature: str
    created: float
    members: list[Member] = field(default_factory=list)

    @property
    def band(self) -> str:
        found = [m.verdict.get("band", "low") for m in self.members]
        return max(found, key=lambda b: _BANDS.index(b) if b in _BANDS else 0, default="low")

    @property
    def score(self) -> int:
        return max((int(m.verdict.get("score", 0)) for m in self.members), default=0)

    @property
    def state(self) -> str:
        return "pending" if any(m.waiting for m in self.members) else "expired"

    def to_dict(self) -> dict[str, Any]:
        return {
            "batch": self.id,
            "signature": self.signature,
            "state": self.state,
            "band": self.band,
            "score": self.score,
            "created": self.created,
            "members": [m.to_dict() for m in self.members],
        }
