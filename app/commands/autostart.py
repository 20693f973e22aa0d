"""`sandgate autostart on|off|status`: start the tray at login, or stop doing so."""

from __future__ import annotations

import argparse
import sys


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "action",
        choices=("on", "off", "status"),
        help="on: write the login entry; off: remove it; status: say which",
    )


def main(args: argparse.Namespace) -> int:
    from app import autostart
    from app.paths import Paths

    paths = Paths.from_environment()
    if args.action == "on":
        path = autostart.enable(paths)
        print(f"sandgate: starts at login ({path})")
    elif args.action == "off":
        removed = autostart.disable(paths)
        print("sandgate: no longer starts at login" if removed else "sandgate: was not on")
    else:
        on = autostart.enabled(paths)
        print(f"on ({autostart.entry_path(paths)})" if on else "off")
    if not sys.platform.startswith("linux"):
        print("sandgate: only Linux desktops read this entry", file=sys.stderr)
    return 0
