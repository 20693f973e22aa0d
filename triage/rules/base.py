"""The rule record: a stable id, a title, points, and a pure check.

The check's docstring is the rule's user documentation. It says what the rule looks
for and why it matters, then gives one example that fires (a line starting `Fires:`)
and one near miss that does not (`Near miss:`). A meta-test holds every rule to this.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass

from triage.facts import Facts

Check = Callable[[Facts], str | None]


@dataclass(frozen=True)
class Rule:
    """A rule fires when `check` returns a sentence (the reason a person reads)."""

    id: str
    title: str
    points: int
    check: Check

    @property
    def doc(self) -> str:
        """The rule's documentation, dedented."""
        return inspect.cleandoc(self.check.__doc__ or "")


def rule(id: str, title: str, points: int) -> Callable[[Check], Rule]:
    """Decorator: turn a documented check function into a frozen Rule."""

    def make(check: Check) -> Rule:
        return Rule(id, title, points, check)

    return make
