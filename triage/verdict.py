"""Verdicts: what triage says about one event, in the exact shape of events.md."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

BANDS = (("critical", 80), ("high", 50), ("medium", 25), ("low", 0))


def band_of(score: int) -> str:
    """The band of a score: low 0–24, medium 25–49, high 50–79, critical 80–100."""
    for name, floor in BANDS:
        if score >= floor:
            return name
    return "low"


@dataclass(frozen=True)
class Reason:
    """One rule that fired: its stable id, its points, and a sentence for a person."""

    rule: str
    points: int
    why: str

    def to_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "points": self.points, "why": self.why}


@dataclass(frozen=True)
class Verdict:
    """The score, band, reasons and batch signature of one event, or an error."""

    id: str | None
    score: int = 0
    band: str = "low"
    reasons: tuple[Reason, ...] = ()
    signature: str = ""
    session: str | None = None
    error: str | None = None

    @classmethod
    def failed(cls, event_id: str | None, error: str) -> Verdict:
        return cls(id=event_id, error=error)

    @property
    def rules(self) -> tuple[str, ...]:
        return tuple(r.rule for r in self.reasons)

    def to_dict(self) -> dict[str, Any]:
        """The events.md verdict object, keys in a fixed order (id, score, band,
        reasons, signature), or `{"id", "error"}` for an event that could not be read."""
        if self.error is not None:
            return {"id": self.id, "error": self.error}
        return {
            "id": self.id,
            "score": self.score,
            "band": self.band,
            "reasons": [r.to_dict() for r in self.reasons],
            "signature": self.signature,
        }
