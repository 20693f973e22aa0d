"""`sandgate queue`: the batches waiting for a decision, with their members and reasons."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the batches as JSON")


def ask_service(op: str, **fields: Any) -> dict[str, Any] | None:
    """One request to the running service; None (with a message) when none runs."""
    from app.client import ServiceError, connect
    from app.paths import Paths

    client = connect(Paths.from_environment())
    if client is None:
        print("sandgate: the Sandgate service is not running", file=sys.stderr)
        return None
    try:
        with client:
            return client.request(op, **fields)
    except ServiceError as exc:
        print(f"sandgate: {exc}", file=sys.stderr)
        return None


def _visible(text: object) -> str:
    """Agent-written text made safe for a terminal: control characters shown, not obeyed."""
    return "".join(
        c
        if c.isprintable() and not 0x202A <= ord(c) <= 0x202E and not 0x2066 <= ord(c) <= 0x2069
        else f"\\u{ord(c):04x}"
        for c in str(text)
    )


def render(batches: list[dict[str, Any]]) -> str:
    """The batches as text for a person: one block per batch, one line per member."""
    if not batches:
        return "No batches are waiting."
    lines: list[str] = []
    for batch in batches:
        lines.append(
            f"{batch['batch']}  {batch['state']:<7}  {batch['band']:<8} {batch['score']:>3}  "
            f"{_visible(batch['signature'])}  ({len(batch['members'])} request(s))"
        )
        reasons: dict[str, str] = {}
        for member in batch["members"]:
            mark = "waiting" if member.get("waiting") else "denied "
            lines.append(
                f"    {mark} {member.get('band', ''):<8} {member.get('score', 0):>3}  "
                f"{_visible(member.get('event'))}  session {_visible(member.get('session'))}  "
                f"{_visible(member.get('summary'))}"
            )
            for reason in member.get("reasons", []):
                reasons.setdefault(str(reason.get("rule")), str(reason.get("why", "")))
        for rule, why in reasons.items():
            lines.append(f"      why: [{_visible(rule)}] {_visible(why)}")
    lines.append("")
    lines.append(
        "Decide with: sandgate decide BATCH allow|deny [--scope SCOPE] [--for DURATION]"
        " [--member EVENT] [--confirm]"
    )
    return "\n".join(lines)


def main(args: argparse.Namespace) -> int:
    response = ask_service("queue")
    if response is None:
        return 1
    batches = response.get("batches", [])
    if args.json:
        print(json.dumps(batches, indent=2))
    else:
        print(render(batches))
    return 0
