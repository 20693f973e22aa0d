"""`sandgate service`: the Sandgate service in the foreground, with no display.

Runs until SIGINT or SIGTERM. One per user: a second one says so and exits with 1.
"""

from __future__ import annotations

import argparse


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--retention-days",
        type=float,
        metavar="DAYS",
        help="forget events older than DAYS at start-up (default: retention_days in "
        "config.yaml, or 90)",
    )
    parser.add_argument(
        "--until-idle",
        type=float,
        metavar="SECONDS",
        help="stop once no session is open and nothing watches for SECONDS (how the tray "
        "runs the service it starts)",
    )


def main(args: argparse.Namespace) -> int:
    import sys

    from app.paths import Paths
    from app.service.runtime import run_foreground
    from app.settings import SettingsError, load_settings

    paths = Paths.from_environment()
    try:
        settings = load_settings(paths)
    except SettingsError as exc:
        print(f"sandgate: {exc}", file=sys.stderr)
        return 1
    return run_foreground(
        paths, retention_days=args.retention_days, settings=settings, until_idle=args.until_idle
    )
