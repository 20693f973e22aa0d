"""tool.*: what a tool call asks for beyond the action it performs."""

from __future__ import annotations

from triage.facts import Facts
from triage.rules.base import KINDS, rule


@rule("tool.leaves-sandbox", "Asks to run outside the agent's sandbox", 50, KINDS)
def leaves_sandbox(f: Facts) -> str | None:
    """A tool call that asks the agent to run it outside its own sandbox (Claude Code's
    `dangerouslyDisableSandbox`, Codex's `sandbox_permissions: require_escalated`).
    The command may look harmless, but the sandbox was what made it harmless, so such a
    call always waits for a person, whatever else it scores, and is decided on its own
    (high), never with a batch.

    Fires: `tool.call Bash` with `command: ls` and `dangerouslyDisableSandbox: true`.
    Near miss: `tool.call Bash` with `command: ls` alone.
    """
    if f.tool is not None and f.leaves_sandbox is not None:
        return f"the call asks to run outside the agent's sandbox ({f.leaves_sandbox})"
    return None


RULES = (leaves_sandbox,)
