"""`sandgate quarantine list|show|restore|discard`: protected files a session created or
changed, held out of the workspace until a person looks at them.

Works over the service's review operations (the same items the tray's inbox shows), so
a restore here and one in the tray are the same act.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True)
    sub.add_parser("list", help="the files held now")
    for name, what in (
        ("show", "print a held file's start as text"),
        ("restore", "put a held file back where it was, with its mode"),
        ("discard", "delete the held copy"),
    ):
        sub.add_parser(name, help=what).add_argument("id", help="the number `list` shows")


def _item_id(text: str) -> str:
    return text if text.startswith("quarantine:") else f"quarantine:{text}"


def _held() -> list[dict[str, Any]] | None:
    from app.commands.queue import ask_service

    response = ask_service("review")
    if response is None:
        return None
    return [i for i in response.get("items", []) if i.get("kind") == "quarantine"]


def main(args: argparse.Namespace) -> int:
    from app.commands.queue import ask_service
    from app.commands.run import visible

    if args.action in ("restore", "discard"):
        wanted = _item_id(args.id)
        if ask_service("review.resolve", id=wanted, action=args.action) is None:
            return 1
        print(f"{wanted}: {'restored' if args.action == 'restore' else 'discarded'}")
        return 0
    held = _held()
    if held is None:
        return 1
    if args.action == "list":
        if not held:
            print("No files are held in quarantine.")
        for item in held:
            number = item["id"].split(":", 1)[1]
            print(f"{number:>4}  session {item['session']}  {visible(str(item['path']))}")
        return 0
    wanted = _item_id(args.id)
    for item in held:
        if item["id"] == wanted:
            print(f"== {visible(str(item['path']))} (held as {visible(str(item['stored']))})")
            print(visible(str(item["detail"])))
            return 0
    print(f"sandgate: nothing held as {args.id} (see `sandgate quarantine list`)", file=sys.stderr)
    return 1
