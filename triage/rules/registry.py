"""The ordered list of every rule. Order is the order of reasons in a verdict.

Adding a rule means adding it here, by hand: no import scanning, no plugins. Rule ids
are published; an id is never reused for a different meaning.
"""

from __future__ import annotations

from triage.rules import cred, egress, exec, exec_reach, file, memory, session, tool
from triage.rules.base import Rule

RULES: tuple[Rule, ...] = (
    *egress.RULES,
    *exec.RULES,
    *exec_reach.RULES,
    *cred.RULES,
    *file.RULES,
    *memory.RULES,
    *session.RULES,
    *tool.RULES,
)


def document(rules: tuple[Rule, ...] = RULES) -> str:
    """The rule reference as Markdown, straight from the docstrings (the single source)."""
    lines = ["# Triage rules", "", "| id | points | title |", "|---|---|---|"]
    lines += [f"| `{r.id}` | {r.points} | {r.title} |" for r in rules]
    for r in rules:
        lines += ["", f"## `{r.id}` — {r.title} ({r.points} points)", "", r.doc]
    return "\n".join(lines) + "\n"
