"""`sandgate start`: Sandgate's main job, what the installer starts.

The tray where there is a display (as `sandgate` alone and `sandgate tray`), otherwise
the headless service. `sandgate service` is always the headless service alone, for a
user unit or a server.
"""

from __future__ import annotations

import argparse

from app.commands import tray


def configure(parser: argparse.ArgumentParser) -> None:
    tray.configure(parser)


def main(args: argparse.Namespace) -> int:
    return tray.main(args)
