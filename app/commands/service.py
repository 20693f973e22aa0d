"""`sandgate service`: the Sandgate service in the foreground, with no display.

Runs until SIGINT or SIGTERM. One per user: a second one says so and exits with 1.
"""

from __future__ import annotations

import argparse


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--retention-days",
        type=float,
        default=90.0,
        metavar="DAYS",
        help="forget events older than DAYS at start-up (default: 90)",
    )


def main(args: argparse.Namespace) -> int:
    from app.paths import Paths
    from app.service.runtime import run_foreground

    return run_foreground(Paths.from_environment(), retention_days=args.retention_days)
