"""What the scan decodes to look again: a gzip or zlib payload inflated, and encoded
runs decoded once for a canary encoded twice (base64 of base64, hex of base64, …)."""

from __future__ import annotations

import binascii
import contextlib
import re
import zlib
from urllib.parse import unquote_to_bytes

from triage.payload.bytemaps import HEX
from triage.payload.findings import Tally

_GZIP = b"\x1f\x8b"
_ZLIB = (b"\x78\x01", b"\x78\x5e", b"\x78\x9c", b"\x78\xda")
_MAX_INFLATED = 8 * 1024 * 1024

# Nested decoding: which runs to try, and how much to decode at most per payload.
NESTED_MIN = 24
_NESTED_MAX_RUN = 64 * 1024
_NESTED_BUDGET = 1024 * 1024
NESTED_MAX_RUNS = 4096
# A payload of LARGE or more with more runs than this is not decoded run by run (too
# slow for a 1 MiB body; its canary spellings are still searched as they are).
NESTED_MAX_RUNS_LARGE = 512
_PIECES = re.compile(rb"[^=.%]{24,}")
_URLSAFE = bytes.maketrans(b"-_", b"+/")


def inflate(data: bytes) -> bytes:
    """The content of a gzip or zlib payload (bounded: a bomb yields its first 8 MiB)."""
    if data[:2] == _GZIP:
        wbits = 16 + zlib.MAX_WBITS
    elif data[:2] in _ZLIB:
        wbits = zlib.MAX_WBITS
    else:
        return b""
    try:
        return zlib.decompressobj(wbits).decompress(data, _MAX_INFLATED)
    except zlib.error:
        return b""


def nested_canary(
    data: bytes,
    runs: list[tuple[int, int]],
    state: Tally,
    needles: tuple[tuple[bytes, str], ...],
) -> None:
    """Decode base64, hex and percent-encoded runs once and look for a canary in any
    spelling (`needles`) inside: a canary encoded twice."""
    budget = _NESTED_BUDGET
    for start, end in runs:
        if not NESTED_MIN <= end - start <= _NESTED_MAX_RUN or data.startswith(b"//", start):
            continue  # too short, too long, or the rest of a URL after its `scheme:`
        run = data[start:end]
        decoded = [unquote_to_bytes(run)] if b"%" in run else []
        for piece in _PIECES.findall(run):
            if not piece.translate(None, HEX) and len(piece) % 2 == 0:
                decoded.append(bytes.fromhex(piece.decode()))
            else:
                with contextlib.suppress(binascii.Error):
                    decoded.append(binascii.a2b_base64(piece.translate(_URLSAFE) + b"=="))
        for blob in decoded:
            budget -= len(blob)
            for needle, how in needles:
                if needle in blob:
                    state.canary = f"{how} inside an encoding"
                    return
        if budget <= 0:
            return
