"""`sandgate tray` (and `sandgate` alone): the tray and its inbox.

With no display at all it says so and runs the headless service instead, so that
`sandgate queue` and `sandgate decide` work from a terminal.
"""

from __future__ import annotations

import argparse
import os
import sys


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--headless",
        action="store_true",
        help="run only the service, as with no display (same as `sandgate service`)",
    )


def has_display() -> bool:
    """Is there a display Qt can open? An explicit QT_QPA_PLATFORM counts as one."""
    return bool(
        os.environ.get("DISPLAY")
        or os.environ.get("WAYLAND_DISPLAY")
        or os.environ.get("QT_QPA_PLATFORM")
        or sys.platform == "darwin"
    )


def main(args: argparse.Namespace) -> int:
    from app.paths import Paths

    paths = Paths.from_environment().ensure()
    if args.headless or not has_display():
        if not args.headless:
            print(
                "sandgate: no display here, so no tray: running the service headless; "
                "use `sandgate queue` and `sandgate decide` from a terminal.",
                flush=True,
            )
        from app.service.runtime import run_foreground

        return run_foreground(paths)
    from app.commands.leave import leave
    from app.ui.app import run

    return leave(run(paths))
