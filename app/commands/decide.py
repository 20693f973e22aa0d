"""`sandgate decide BATCH allow|deny`: answer a waiting batch, with a scope and an expiry."""

from __future__ import annotations

import argparse
import re

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def duration(text: str) -> float:
    """`90`, `90s`, `15m`, `2h`, `7d` → seconds."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([smhd]?)", text.strip())
    if not match or float(match.group(1)) <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration like 90s, 15m, 2h or 7d")
    return float(match.group(1)) * _UNITS[match.group(2) or "s"]


SCOPES_HELP = """scopes (--scope):
  once       only the requests waiting in this batch now
  session    also later requests like these (same destination, no riskier) of the
             same agent session, until it ends
  workspace  also later requests like these of any session in this workspace,
             remembered across restarts
  always     also later requests like these anywhere, remembered across
             restarts (never offered for a critical batch)
--for DURATION makes a session, workspace or always decision expire (90s, 15m, 2h, 7d)."""


def configure(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = SCOPES_HELP
    parser.add_argument("batch", help="the batch id shown by `sandgate queue`")
    parser.add_argument("decision", choices=("allow", "deny"))
    parser.add_argument(
        "--scope",
        choices=("once", "session", "workspace", "always"),
        default="once",
        help="how far the decision reaches (default: once; see below)",
    )
    parser.add_argument(
        "--for", dest="for_", type=duration, metavar="DURATION", help="expire after this long"
    )
    parser.add_argument(
        "--member",
        metavar="EVENT",
        help="decide only this request of the batch (its event id, as `sandgate queue` "
        "lists it); a high or critical batch with more than one request waiting is "
        "decided this way, one request at a time",
    )
    parser.add_argument(
        "--confirm",
        action="store_true",
        help="the deliberate second step needed to allow a critical batch",
    )


def main(args: argparse.Namespace) -> int:
    from app.commands.queue import ask_service

    fields: dict[str, object] = {
        "batch": args.batch,
        "decision": args.decision,
        "scope": args.scope,
    }
    if args.for_ is not None:
        fields["for"] = args.for_
    if args.confirm:
        fields["confirm"] = True
    if args.member:
        fields["member"] = args.member
    response = ask_service("decide", **fields)
    if response is None:
        return 1
    print(f"{args.decision}: {response.get('released', 0)} waiting request(s) released")
    return 0
