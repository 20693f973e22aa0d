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

# What an event does, as `Facts.kind` says it (a tool call counts as what it does).
FILE_READ = "file.read"
FILE_WRITE = "file.write"
MEMORY_WRITE = "memory.write"
NET_REQUEST = "net.request"
NET_CONNECT = "net.connect"
EXEC = "exec"
TOOL_MCP = "tool.mcp"
TOOL_OTHER = "tool.other"
KINDS = (FILE_READ, FILE_WRITE, MEMORY_WRITE, NET_REQUEST, NET_CONNECT, EXEC, TOOL_MCP, TOOL_OTHER)


@dataclass(frozen=True)
class Rule:
    """A rule fires when `check` returns a sentence (the reason a person reads).

    `kinds` lists the event kinds (`Facts.kind`) the check can fire on; the engine
    never calls it for others, which keeps scoring cheap.
    """

    id: str
    title: str
    points: int
    kinds: frozenset[str]
    check: Check

    @property
    def doc(self) -> str:
        """The rule's documentation, dedented."""
        return inspect.cleandoc(self.check.__doc__ or "")


def rule(id: str, title: str, points: int, kinds: tuple[str, ...]) -> Callable[[Check], Rule]:
    """Decorator: turn a documented check function into a frozen Rule."""
    unknown = set(kinds) - set(KINDS)
    if unknown:
        raise ValueError(f"rule {id}: unknown kinds {sorted(unknown)}")

    def make(check: Check) -> Rule:
        return Rule(id, title, points, frozenset(kinds), check)

    return make
