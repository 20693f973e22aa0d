"""One scan of outgoing data: the walks of the other modules, in order, over one
translate of the payload (and once more over its inflated content)."""

from __future__ import annotations

from triage.catalogues import Catalogues
from triage.payload.blobs import BLOB_NEEDLE, blobs
from triage.payload.bytemaps import BOTH, LARGE
from triage.payload.canaries import NO_CANARIES, Canaries, bounded_canary
from triage.payload.decoding import (
    NESTED_MAX_RUNS,
    NESTED_MAX_RUNS_LARGE,
    inflate,
    nested_canary,
)
from triage.payload.findings import NOTHING, Findings, Tally, merge
from triage.payload.secret_search import TOKEN_NEEDLE, anywhere_formats, tokens


def scan(
    data: bytes,
    catalogues: Catalogues,
    canaries: Canaries = NO_CANARIES,
    allowed: frozenset[bytes] = frozenset(),
) -> Findings:
    """Look through outgoing `data` once. `allowed` values (the session's own
    placeholders) are never reported as secrets. A gzip or zlib payload is also looked
    through inflated (up to 8 MiB), and encoded runs are decoded once more to find a
    canary encoded twice."""
    found = _scan_one(data, catalogues, canaries, allowed)
    inner = inflate(data)
    if inner:
        found = merge(found, _scan_one(inner, catalogues, canaries, allowed), "compressed ")
    return found


def _scan_one(
    data: bytes, catalogues: Catalogues, canaries: Canaries, allowed: frozenset[bytes]
) -> Findings:
    if not data:
        return NOTHING
    state = Tally(catalogues, allowed)
    anywhere_formats(data, state)
    for needle, how in canaries.free:
        if needle in data:
            state.canary = how
            break
    both = data.translate(BOTH)
    wide = both.replace(b"b", b"a")
    first = wide.find(TOKEN_NEEDLE)
    if first < 0:
        return state.findings()  # no run long enough for a token, a bounded canary or a blob
    runs: list[tuple[int, int]] = []
    if canaries.bounded or canaries.free:
        # Runs that may hold a bounded spelling or a nested encoding, no shorter.
        runs, rest = _runs(data, wide, canaries.needle, first)
        if state.canary is None and canaries.bounded:
            bounded_canary(data, runs, rest, state, canaries)
        if len(data) >= LARGE and (rest >= 0 or len(runs) > NESTED_MAX_RUNS_LARGE):
            runs = []  # too many runs in a large payload to decode each
    blob = wide.find(BLOB_NEEDLE, first)
    skip = blobs(data, wide, blob, state) if blob >= 0 else []
    tokens(data, both, first, skip, state)
    if state.canary is None and runs:
        nested_canary(data, runs, state, canaries.all)
    return state.findings()


def _runs(
    data: bytes, wide: bytes, needle: bytes, pos: int = 0
) -> tuple[list[tuple[int, int]], int]:
    """The spans of the runs at least as long as `needle` (at most NESTED_MAX_RUNS), and
    where the runs not listed begin (-1: none left out)."""
    spans: list[tuple[int, int]] = []
    while (start := wide.find(needle, pos)) >= 0:
        if len(spans) == NESTED_MAX_RUNS:
            return spans, start
        end = wide.find(b" ", start)
        pos = end = len(data) if end < 0 else end
        spans.append((start, end))
    return spans, -1
