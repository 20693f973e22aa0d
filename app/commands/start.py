"""`sandgate start`: Sandgate's main job.

For now this is the service in the foreground (as `sandgate service`); the tray will
embed the same service when a display exists.
"""

from __future__ import annotations

import argparse

from app.commands import service


def configure(parser: argparse.ArgumentParser) -> None:
    service.configure(parser)


def main(args: argparse.Namespace) -> int:
    return service.main(args)
