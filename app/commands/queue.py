"""`sandgate queue`: the batches waiting for a decision, with their members and reasons;
with `--follow`, then every change as it happens (the service's `watch` stream)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the batches as JSON")
    parser.add_argument(
        "--follow",
        action="store_true",
        help="then print each change as it happens (the stream the tray reads), until Ctrl-C",
    )


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


def describe(change: dict[str, Any]) -> str:
    """One line for a person about one change of the service's stream."""
    name = change.get("change")
    batch = change.get("batch")
    if isinstance(batch, dict):
        member = change.get("member") or {}
        head = (
            f"{batch['batch']}  {batch['band']:<8} {batch['score']:>3}  "
            f"{_visible(batch['signature'])}"
        )
        if name == "batch.expired":
            why = member.get("answer") or "timeout"
            return f"x {head}  denied ({why}): {_visible(member.get('summary'))}"
        verb = "waiting" if name == "batch.added" else "joined"
        return (
            f"+ {head}  {verb}: {_visible(member.get('summary'))}  "
            f"session {_visible(member.get('session'))}"
        )
    if name == "batch.decided":
        return (
            f"= {change['batch']}  {change['decision']} ({change['scope']}) by "
            f"{change.get('by')}: {change.get('released', 0)} request(s) released"
        )
    if name == "session.opened":
        info = change["session"]
        return (
            f"> session {info['session']} opened: {_visible(info.get('agent') or '?')} in "
            f"{_visible(info.get('workspace'))}"
        )
    if name == "session.closed":
        return f"< session {change['session']} closed (exit {change.get('exit_code')})"
    if name == "review.added":
        item = change["item"]
        return f"! review {item['id']}: {_visible(item['summary'])}"
    if name == "review.resolved":
        return f"  review {change['id']}: {change['action']}"
    if name == "paused":
        until = change.get("until")
        return "|| asking paused " + (
            "until resumed" if until is None else f"until {_clock(float(until))}"
        )
    if name == "resumed":
        return "> asking resumed"
    return _visible(json.dumps(change))


def _clock(ts: float) -> str:
    import time

    return time.strftime("%H:%M:%S", time.localtime(ts))


def follow(as_json: bool) -> int:
    """Print the queue, then every change until the service goes away or Ctrl-C."""
    from app.client import ServiceError, connect
    from app.paths import Paths

    client = connect(Paths.from_environment())
    if client is None:
        print("sandgate: the Sandgate service is not running", file=sys.stderr)
        return 1
    with client:
        try:
            reply = client.request("watch")
        except ServiceError as exc:
            print(f"sandgate: {exc}", file=sys.stderr)
            return 1
        if as_json:
            print(json.dumps(reply), flush=True)
        else:
            print(render(reply["state"]["batches"]).rsplit("\n\n", 1)[0], flush=True)
        try:
            for change in client.changes():
                print(json.dumps(change) if as_json else describe(change), flush=True)
        except KeyboardInterrupt:
            return 0
    print("sandgate: the service closed the stream (stopped, or this reader fell behind)",
          file=sys.stderr)  # fmt: skip
    return 1


def main(args: argparse.Namespace) -> int:
    if args.follow:
        return follow(args.json)
    response = ask_service("queue")
    if response is None:
        return 1
    batches = response.get("batches", [])
    if args.json:
        print(json.dumps(batches, indent=2))
    else:
        print(render(batches))
    return 0
