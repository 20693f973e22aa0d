"""Batches: verdicts with equal signatures, decided together.

A signature reads `KIND SUBJECT`, where SUBJECT is what a person would approve:

- `file.read`/`file.write`: the path pattern: `cred:ID` for a known credential
  location, otherwise the folder with the extension, `$WORKSPACE/src/*.py`,
  `~/.config/*.toml`, `/etc/*` (the session's workspace and home are written so);
- `memory.write`: the file, `$WORKSPACE/CLAUDE.md`;
- `net.request`: the destination, host (`:port` if not the scheme's default) whatever
  the method, `evil.example.net`; `net.connect`: `host:port`;
- `exec`: the program, and `-> host,host` when the command names destinations;
- `tool.call`: the tool then the subject of what it maps to, `Bash pytest`,
  `Read $WORKSPACE/src/*.py`, `WebFetch docs.python.org`, or just the tool name;
- `session.start`: nothing.

The band is not part of the key: one destination is one batch, and a batch carries its
riskiest member's band (and so that band's friction), so a risky member never hides in
a low batch and never splits one destination into two decisions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from triage.verdict import Verdict


@dataclass(frozen=True)
class Batch:
    """Verdicts that share a signature, with the highest score among them."""

    signature: str
    band: str
    score: int
    members: tuple[Verdict, ...]

    @property
    def ids(self) -> tuple[str | None, ...]:
        return tuple(v.id for v in self.members)

    def to_dict(self) -> dict[str, Any]:
        rules = sorted({r for v in self.members for r in v.rules})
        return {
            "signature": self.signature,
            "band": self.band,
            "score": self.score,
            "count": len(self.members),
            "ids": list(self.ids),
            "rules": rules,
        }


def group(verdicts: list[Verdict]) -> list[Batch]:
    """Group verdicts by signature (error verdicts are left out), ranked by their
    highest score, then by the position of their first member: stable and total."""
    order: dict[str, int] = {}
    members: dict[str, list[Verdict]] = {}
    for verdict in verdicts:
        if verdict.error is not None:
            continue
        key = verdict.signature
        if key not in members:
            order[key] = len(order)
            members[key] = []
        members[key].append(verdict)
    batches = [
        Batch(
            signature=key,
            band=max(group, key=lambda v: v.score).band,  # the riskiest member's
            score=max(v.score for v in group),
            members=tuple(group),
        )
        for key, group in members.items()
    ]
    batches.sort(key=lambda b: (-b.score, order[b.signature]))
    return batches
