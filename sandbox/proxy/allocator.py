"""glibc's allocator tuned for streaming: large read buffers kept on the heap and reused.

glibc's allocator, left to itself, handed each 256 KiB buffer of a download back to the
kernel and faulted fresh pages in for the next: asyncio's transport allocates 256 KiB
for every recv, above malloc's first mmap threshold, and the heap top is trimmed as soon
as 2 such buffers are free. Page faults were then a quarter of the proxy's CPU on a
passed-through tunnel. Fixed thresholds keep these buffers on the heap and reused.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

MMAP_THRESHOLD = 1 << 20  # mallocs at least this large get their own mapping
TRIM_THRESHOLD = 16 << 20  # free memory at the heap top kept for reuse, at most
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # mallopt(3) parameters in glibc


def tune_allocator() -> bool:
    """Set glibc's malloc thresholds for streaming (process-wide, idempotent). True if set;
    False elsewhere (macOS, musl), where nothing needs it or nothing can be done."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    # mallopt returns 1 on success; both or neither (one alone stops glibc adapting).
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(
        mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)
    )
