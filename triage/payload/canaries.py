"""A session's canaries in every spelling, and the search for the spellings that can
only lie inside a long run of encoding characters."""

from __future__ import annotations

import base64
from collections.abc import Iterable
from dataclasses import dataclass

from triage.payload.bytemaps import WIDE
from triage.payload.decoding import NESTED_MIN
from triage.payload.findings import Tally

MIN_CANARY = 8
# Runs at least this long may hold a bounded canary spelling (see `Canaries`).
_MIN_RUN = 20
# Bounded canaries: up to this many runs are joined and searched; past it, the payload.
_JOIN_RUNS = 256


@dataclass(frozen=True)
class Canaries:
    """A session's canaries in every spelling. `bounded` needles consist of token
    characters only, so they can only occur inside a long run; `free` ones can occur
    anywhere."""

    bounded: tuple[tuple[bytes, str], ...] = ()
    free: tuple[tuple[bytes, str], ...] = ()
    # The shortest run worth listing: one that can hold a bounded spelling or a nested
    # encoding (at least NESTED_MIN long).
    needle: bytes = b""

    @property
    def all(self) -> tuple[tuple[bytes, str], ...]:
        return self.bounded + self.free


NO_CANARIES = Canaries()


def canaries_of(tokens: Iterable[str]) -> Canaries:
    """Every spelling of each canary: plain, base64 at each alignment (both alphabets),
    hex (both cases) and percent-encoded (both cases). Canaries shorter than
    MIN_CANARY characters are ignored."""
    bounded: list[tuple[bytes, str]] = []
    free: list[tuple[bytes, str]] = []
    seen: set[bytes] = set()
    for token in tokens:
        if len(token) < MIN_CANARY:
            continue  # a short "canary" would match ordinary text
        for needle, how in canary_variants(token):
            if needle in seen:
                continue
            seen.add(needle)
            wide_only = len(needle) >= _MIN_RUN and not needle.translate(WIDE).strip(b"a")
            (bounded if wide_only else free).append((needle, how))
    shortest = min((len(n) for n, _ in bounded), default=NESTED_MIN)
    return Canaries(tuple(bounded), tuple(free), b"a" * min(shortest, NESTED_MIN))


def canary_variants(canary: str) -> tuple[tuple[bytes, str], ...]:
    """One canary's spellings, each with the name of its encoding."""
    raw = canary.encode()
    out: list[tuple[bytes, str]] = [(raw, "plain")]
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + raw + b"\0\0")
        first = -(-8 * shift // 6)  # first 6-bit group lying wholly inside the canary
        last = (8 * (shift + len(raw))) // 6  # one past the last such group
        core = encoded[first:last]
        if len(core) >= 8:
            out.append((core, "base64"))
            out.append((core.replace(b"+", b"-").replace(b"/", b"_"), "base64"))
    hexed = raw.hex().encode()
    out += [(hexed, "hex"), (hexed.upper(), "hex")]
    percent = "".join(f"%{b:02X}" for b in raw).encode()
    out += [(percent, "percent-encoded"), (percent.lower(), "percent-encoded")]
    return tuple(dict.fromkeys(out))


def bounded_canary(
    data: bytes, runs: list[tuple[int, int]], rest: int, state: Tally, canaries: Canaries
) -> None:
    """Bounded canaries lie inside a run: look through the runs alone, joined, when they
    are few; past that one `find` per spelling over the payload costs less."""
    if not runs:
        return
    if len(runs) <= _JOIN_RUNS and rest < 0:
        within = b" ".join(data[a:b] for a, b in runs)
        start = 0
    else:
        within, start = data, runs[0][0]
    for needle, how in canaries.bounded:
        if within.find(needle, start) >= 0:
            state.canary = how
            return
