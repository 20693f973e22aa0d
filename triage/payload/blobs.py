"""Encoded blobs: long runs of encoding characters that look like base64, hex or
percent-encoding. Only the longest is reported; runs too long to search for secret
formats are handed back so that the token walk skips them."""

from __future__ import annotations

from triage.payload.bytemaps import HEX, LETTERS
from triage.payload.findings import Tally

_B64ISH = LETTERS + b"+/=_-"
# A run of encoding characters at least this long that looks encoded is a blob.
BLOB_MIN = 512
BLOB_NEEDLE = b"a" * BLOB_MIN
_BLOB_SAMPLE = 2048
# Runs longer than this are not searched for secret formats (they are blobs or noise).
_MAX_SEARCHED_RUN = 8192


def _blob_kind(run: bytes) -> str | None:
    """The encoding of a long run: hex, percent-encoded or base64, else None.
    Long runs are judged on samples from their start, middle and end."""
    if len(run) > 3 * _BLOB_SAMPLE:
        middle = len(run) // 2
        run = run[:_BLOB_SAMPLE] + run[middle : middle + _BLOB_SAMPLE] + run[-_BLOB_SAMPLE:]
    n = len(run)
    if not run.translate(None, HEX):
        return "hex"
    if run.count(b"%") * 4 >= n:
        return "percent-encoded"
    if len(run.translate(None, _B64ISH)) * 100 <= n and len(set(run[:256])) >= 24:
        return "base64"
    return None


def _blob_run(state: Tally, data: bytes, start: int, end: int) -> bool:
    """Record the run if it is an encoded blob; True if it is one."""
    kind = _blob_kind(data[start:end])
    if kind is None:
        return False
    if end - start > state.blob_length:
        state.blob, state.blob_length = kind, end - start
    return True


def blobs(data: bytes, wide: bytes, pos: int, state: Tally) -> list[tuple[int, int]]:
    """Record the longest encoded run; return the encoded runs too long to search."""
    size = len(data)
    spans: list[tuple[int, int]] = []
    longest = (0, 0)
    start = wide.find(BLOB_NEEDLE, pos)
    while start >= 0:
        end = wide.find(b" ", start)
        end = size if end < 0 else end
        spans.append((start, end))
        if end - start > longest[1] - longest[0]:
            longest = (start, end)
        # Encoded data often comes in long lines: when the next run is long too, take
        # it without a `find` of the long needle (which re-reads its first 512 bytes).
        start = end + 1
        following = wide.find(b" ", start)
        following = size if following < 0 else following
        if following - start < BLOB_MIN:
            start = wide.find(BLOB_NEEDLE, following)
    if not spans:
        return []
    skip = [s for s in spans if s[1] - s[0] > _MAX_SEARCHED_RUN and _blob_run(state, data, *s)]
    if state.blob is None and not _blob_run(state, data, *longest) and len(spans) > 1:
        # Only the longest blob is reported (the first of equals): classify from the
        # longest down and stop at the first encoded run, rather than classify each.
        for span in sorted(spans, key=lambda s: s[0] - s[1]):
            if span[1] - span[0] <= _MAX_SEARCHED_RUN and _blob_run(state, data, *span):
                break
    return skip
