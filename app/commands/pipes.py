"""Output into a pipe whose reader has gone (`sandgate history | head`).

Python ignores SIGPIPE, so a write to such a pipe raises BrokenPipeError, and the
interpreter's last flush of stdout at exit raises it again. A command that catches it
calls `reader_gone()`: standard output is pointed at /dev/null, so nothing more is
written or complained about, and the exit status is the one a shell tool killed by
SIGPIPE gives (141), which `set -o pipefail` scripts already understand.
"""

from __future__ import annotations

import os
import signal
import sys

EXIT = 128 + signal.SIGPIPE


def reader_gone() -> int:
    """Silence standard output for the rest of the process; the status to exit with."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # stdout is no real file (a test's capture)
        pass
    return int(EXIT)
