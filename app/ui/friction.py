"""Friction grows with risk: the rules of the inbox, as logic without Qt.

The inbox's controller asks a `Gate` what the person may do with the batch on screen;
the widgets only enforce what it says. Keeping the rules here lets the tests prove each
one directly, and the widget tests prove the window obeys them.

- low: one keystroke decides the whole batch.
- medium: the members are listed before the approve control is enabled.
- high: members are decided one at a time; no 'approve all', no default button, and
  input is ignored for the first 700 ms after the batch is shown.
- critical: blocked. Allowing needs a deliberate second step (type the destination, or
  press and hold for 2 s), is never offered wider than the session, and the control
  that allows is never the focused one, so no sequence of key presses allows.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.ui.rows import Batch

GUARD_MS = 700
HOLD_MS = 2000
SCOPES = ("once", "session", "workspace", "always")
EXPIRIES: tuple[tuple[str, int | None], ...] = (
    ("no expiry", None),
    ("for 15 min", 15 * 60),
    ("for 1 h", 3600),
    ("for 1 day", 86400),
)


@dataclass(frozen=True)
class Friction:
    band: str
    one_key: bool  # a single key decides the whole batch
    list_first: bool  # the members must have been listed before approving
    one_at_a_time: bool  # members decided one by one; no approve-all
    guard_ms: int  # input ignored for this long after the batch is shown
    default_button: bool  # Enter may press the approve button
    second_step: bool  # allowing needs a deliberate second step
    scopes: tuple[str, ...]  # scopes that may be offered for an allow


_RULES = {
    "low": Friction("low", True, False, False, 0, True, False, SCOPES),
    "medium": Friction("medium", False, True, False, 0, False, False, SCOPES),
    "high": Friction("high", False, True, True, GUARD_MS, False, False, SCOPES),
    "critical": Friction("critical", False, True, True, GUARD_MS, False, True, SCOPES[:2]),
}


def friction_for(band: str) -> Friction:
    """The rules for a band; an unknown band gets the strictest (fail closed)."""
    return _RULES.get(band, _RULES["critical"])


class Gate:
    """What the person may do right now with the batch shown since `shown_at` (ms)."""

    def __init__(self, batch: Batch, shown_at_ms: float) -> None:
        self.batch = batch
        self.rules = friction_for(batch.band)
        self.shown_at_ms = shown_at_ms
        self.listed = not self.rules.list_first
        self.confirmed = False

    def accepts_input(self, now_ms: float) -> bool:
        """False during the guard time after the batch is shown (high, critical)."""
        return now_ms - self.shown_at_ms >= self.rules.guard_ms

    def members_listed(self) -> None:
        """The person has had every member on screen (the list scrolled to its end)."""
        self.listed = True

    def confirm(self) -> None:
        """The deliberate second step of a critical batch was taken."""
        self.confirmed = True

    def typed_matches(self, typed: str) -> bool:
        """The typed confirmation names the destination exactly."""
        from app.ui.words import destination

        return typed.strip() != "" and typed.strip() == destination(self.batch)

    def scopes(self) -> tuple[str, ...]:
        return self.rules.scopes

    def whole_batch(self) -> bool:
        """May one decision cover every waiting member? Never for high and critical
        with more than one waiting (the service refuses it too)."""
        return not self.rules.one_at_a_time or self.batch.waiting <= 1

    def refusal(
        self, decision: str, now_ms: float, *, member: str | None, scope: str
    ) -> str | None:
        """Why this decision may not be sent now, or None when it may."""
        if not self.accepts_input(now_ms):
            return "wait: this batch was shown a moment ago"
        if decision == "deny":
            return None if member is not None or self.whole_batch() else "choose one request"
        if scope not in self.rules.scopes:
            return f"a {self.rules.band} batch is never allowed with scope {scope}"
        if not self.listed:
            return "read the list of requests first"
        if member is None and not self.whole_batch():
            return "decide the requests one at a time"
        if self.rules.second_step and not self.confirmed:
            return "type the destination or press and hold to allow"
        return None
