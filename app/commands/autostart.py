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
    if not sys.platform.startswith("linux"):
        print("sandgate: only Linux desktops read this entry", file=sys.stderr)
    if args.action == "status":
        on = autostart.enabled(paths)
        print(f"on ({autostart.entry_path(paths)})" if on else "off")
        return 0
    try:
        if args.action == "on":
            print(f"sandgate: starts at login ({autostart.enable(paths)})")
        elif autostart.disable(paths):
            print("sandgate: no longer starts at login")
        else:
            print("sandgate: was not on")
    except OSError as exc:
        where = exc.filename or autostart.entry_path(paths)
        print(f"sandgate: cannot change {where}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    return 0
