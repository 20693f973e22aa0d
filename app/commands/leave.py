"""Leaving a process whose Qt work is over, without the interpreter's last collection.

PySide6 can abort the interpreter while it tears Qt wrappers down at exit ("Fatal Python
error: bool_dealloc", a known class of PySide shutdown crashes), after everything the
program had to do is done: a clean quit would end in SIGABRT and a core dump. The
windows' commands therefore end here once their event loop has returned and their own
clean-up (the service they started, the instance lock) has run.
"""

from __future__ import annotations

import contextlib
import os
import sys


def leave(code: int) -> int:
    """Flush what was printed and end the process with `code` at once."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed or broken stream
            stream.flush()
    os._exit(code)
