"""Verdicts: what triage says about one event, in the exact shape of events.md.

Verdict and Reason are immutable NamedTuples (one of each is built per event; a tuple
is several times cheaper to build than a frozen dataclass).
"""

from __future__ import annotations

from typing import Any, NamedTuple

BANDS = (("critical", 80), ("high", 50), ("medium", 25), ("low", 0))


def band_of(score: int) -> str:
    """The band of a score: low 0–24, medium 25–49, high 50–79, critical 80–100."""
    for name, floor in BANDS:
        if score >= floor:
            return name
    return "low"


class Reason(NamedTuple):
    """One rule that fired: its stable id, its points, and a sentence for a person."""

    rule: str
    points: int
    why: str

    def to_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "points": self.points, "why": self.why}


class Verdict(NamedTuple):
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
        """The verdict of an event that could not be read."""
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
