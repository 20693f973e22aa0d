"""Linear scans of outgoing data: canaries, secret formats, generic secrets, blobs.

No regex ever walks the whole payload. One `bytes.translate` (C speed) maps every byte
to "token character", "other encoding character" or "space"; `bytes.find` then jumps
from one long run to the next, and only those runs are looked at. Prose, JSON and code
have few long runs, so a large body costs little more than the translate; a run that
is an encoded blob is reported as such, and searched only while it is short enough.

One walk for every size:
- tokens ([A-Za-z0-9_.-], at least 16 long) are matched against the secret formats
  where one may start: at the token's start or after a `_`, `-` or `.` inside it; a
  token after a field's `:`/`=` or quote, or a run holding one, is a generic candidate;
- runs ([A-Za-z0-9_.+/=%-]) of at least 512 are blob candidates; the longest encoded
  one is reported;
- canary spellings made of run characters are looked for inside runs long enough to
  hold them, the others anywhere; runs are decoded once more for a canary encoded
  twice, except in a payload of 64 KiB or more with over 512 such runs;
- a payload with very many tokens, or a large one whose tokens keep asking for regex
  walks (dense JSON, code), has the rest looked through with one `find` per secret
  prefix stem and field name instead: bounded and linear, but slower (~12 ms per MiB).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import math
import re
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import unquote_to_bytes

from triage.catalogues import Catalogues

_LETTERS = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
_NARROW_CHARS = _LETTERS + b"_-."
_WIDE_CHARS = _LETTERS + b"_-.+/=%"
_WIDE = bytes(0x61 if b in _WIDE_CHARS else 0x20 for b in range(256))
# Both in one translate: token characters "a", the other encoding characters "b". The
# wide view is then one `replace` of the (usually rare) "b", cheaper than a translate.
_BOTH = bytes(
    0x61 if b in _NARROW_CHARS else 0x62 if b in _WIDE_CHARS else 0x20 for b in range(256)
)
_B64ISH = _LETTERS + b"+/=_-"
_HEX = b"0123456789abcdefABCDEF"
# A run of encoding characters at least this long that looks encoded is a blob.
BLOB_MIN = 512
_BLOB_NEEDLE = b"a" * BLOB_MIN
_BLOB_SAMPLE = 2048
# Runs longer than this are not searched for secret formats (they are blobs or noise).
_MAX_SEARCHED_RUN = 8192
# The shortest token worth testing against the secret formats.
_MIN_TOKEN = 16
_TOKEN_NEEDLE = b"a" * _MIN_TOKEN
# Tokens up to this long are searched for inner separators directly; longer ones first
# check that they hold one.
_SHORT_TOKEN = 64
# Runs at least this long may hold a bounded canary spelling (see `Canaries`).
_MIN_RUN = 20
_RUN_NEEDLE = b"a" * _MIN_RUN
# What the tests call a large payload (the scan itself has one path for every size).
LARGE = 64 * 1024
MIN_CANARY = 8
# Past this many tokens (or one per _BYTES_PER_TOKEN bytes) a payload is "dense": the
# rest is scanned per secret prefix, which costs the same whatever the token count.
_MAX_TOKENS = 4096
_BYTES_PER_TOKEN = 256
# ... or past this many regex walks on candidates in a payload of LARGE or more.
_MAX_CHECKS = 512
# Bounded canaries: up to this many runs are joined and searched; past it, the payload.
_JOIN_RUNS = 256
# Before a token, the characters that continue a longer value (`+`, `/`, `%`).
_VALUE_INNER = b"+/%"
# Generic secrets: how far before a token its field name may stand (`"api_key": "`).
_KEY_WINDOW = 40
_KEY_LEADS = b"\"' :="
# Dense payloads: field names looked for directly (in the lower-cased payload), and how
# many hits of each to examine.
_KEY_WORDS = (b"passw", b"secret", b"token", b"api_key", b"apikey", b"credential")
_MAX_KEY_HITS = 64


@dataclass(frozen=True)
class SecretHit:
    format: str  # secret format id, or "generic"
    title: str


@dataclass(frozen=True)
class Findings:
    secrets: tuple[SecretHit, ...] = ()
    canary: str | None = None  # how the canary was spelt: "plain", "base64", …
    blob: str | None = None  # "base64", "hex" or "percent-encoded"
    blob_length: int = 0


NOTHING = Findings()
_GENERIC = SecretHit("generic", "random-looking value in a secret field")


@dataclass(frozen=True)
class Canaries:
    """A session's canaries in every spelling. `bounded` needles consist of token
    characters only, so they can only occur inside a long run; `free` ones can occur
    anywhere."""

    bounded: tuple[tuple[bytes, str], ...] = ()
    free: tuple[tuple[bytes, str], ...] = ()
    # The shortest run worth listing: one that can hold a bounded spelling or a nested
    # encoding (at least _NESTED_MIN long).
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
            wide_only = len(needle) >= _MIN_RUN and not needle.translate(_WIDE).strip(b"a")
            (bounded if wide_only else free).append((needle, how))
    shortest = min((len(n) for n, _ in bounded), default=_NESTED_MIN)
    return Canaries(tuple(bounded), tuple(free), b"a" * min(shortest, _NESTED_MIN))


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


def _entropy(value: bytes) -> float:
    counts: dict[int, int] = {}
    for b in value:
        counts[b] = counts.get(b, 0) + 1
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in counts.values())


def _blob_kind(run: bytes) -> str | None:
    """The encoding of a long run: hex, percent-encoded or base64, else None.
    Long runs are judged on samples from their start, middle and end."""
    if len(run) > 3 * _BLOB_SAMPLE:
        middle = len(run) // 2
        run = run[:_BLOB_SAMPLE] + run[middle : middle + _BLOB_SAMPLE] + run[-_BLOB_SAMPLE:]
    n = len(run)
    if not run.translate(None, _HEX):
        return "hex"
    if run.count(b"%") * 4 >= n:
        return "percent-encoded"
    if len(run.translate(None, _B64ISH)) * 100 <= n and len(set(run[:256])) >= 24:
        return "base64"
    return None


class _Scan:
    """The findings of one scan as they accumulate."""

    def __init__(self, catalogues: Catalogues, allowed: frozenset[bytes]) -> None:
        self.catalogues = catalogues
        self.allowed = allowed
        self.secrets: dict[str, SecretHit] = {}
        self.canary: str | None = None
        self.blob: str | None = None
        self.blob_length = 0
        self.checks = 0  # regex walks spent on candidates (bounds a large payload's)

    def note(self, m: re.Match[bytes] | None) -> None:
        if m is None or m.lastgroup is None or m.group(0) in self.allowed:
            return
        fmt = self.catalogues.secrets[int(m.lastgroup[1:])]
        self.secrets.setdefault(fmt.id, SecretHit(fmt.id, fmt.title))

    def generic(self, window: bytes) -> None:
        if "generic" in self.secrets:
            return
        self.checks += 1
        key = self.catalogues.generic_key
        if key is not None and key.search(window.lower()) is None:
            return  # no field name at all: most windows, found far faster this way
        g = self.catalogues.generic_regex.search(window)
        if g is not None:
            value = g.group(1)
            if value not in self.allowed and _entropy(value) >= self.catalogues.generic_min_entropy:
                self.secrets["generic"] = _GENERIC

    def blob_run(self, data: bytes, start: int, end: int) -> bool:
        """Record the run if it is an encoded blob; True if it is one."""
        kind = _blob_kind(data[start:end])
        if kind is None:
            return False
        if end - start > self.blob_length:
            self.blob, self.blob_length = kind, end - start
        return True

    def findings(self) -> Findings:
        if self.canary is None and not self.secrets and self.blob is None:
            return NOTHING
        ordered = tuple(self.secrets[k] for k in sorted(self.secrets))
        return Findings(ordered, self.canary, self.blob, self.blob_length)


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
    inner = _inflate(data)
    if inner:
        found = merge(found, _scan_one(inner, catalogues, canaries, allowed), "compressed ")
    return found


def merge(a: Findings, b: Findings, how: str = "") -> Findings:
    """Both findings in one (`how` prefixes the spelling of a canary found only in b)."""
    if b is NOTHING:
        return a
    if a is NOTHING and not how:
        return b
    secrets = {h.format: h for h in (*a.secrets, *b.secrets)}
    blob, length = (
        (a.blob, a.blob_length) if a.blob_length >= b.blob_length else (b.blob, b.blob_length)
    )
    canary = a.canary or (how + b.canary if b.canary else None)
    return Findings(tuple(secrets[k] for k in sorted(secrets)), canary, blob, length)


def _scan_one(
    data: bytes, catalogues: Catalogues, canaries: Canaries, allowed: frozenset[bytes]
) -> Findings:
    if not data:
        return NOTHING
    state = _Scan(catalogues, allowed)
    for anchor, pattern in catalogues.anywhere_anchors:
        # Formats such as key blocks hold spaces, so they are never one token.
        if anchor in data:
            for m in pattern.finditer(data):
                state.note(m)
    for needle, how in canaries.free:
        if needle in data:
            state.canary = how
            break
    both = data.translate(_BOTH)
    wide = both.replace(b"b", b"a")
    first = wide.find(_TOKEN_NEEDLE)
    if first < 0:
        return state.findings()  # no run long enough for a token, a bounded canary or a blob
    runs: list[tuple[int, int]] = []
    if canaries.bounded or canaries.free:
        # Runs that may hold a bounded spelling or a nested encoding, no shorter.
        runs, rest = _runs(data, wide, canaries.needle, first)
        if state.canary is None and canaries.bounded:
            _bounded_canary(data, runs, rest, state, canaries)
        if len(data) >= LARGE and (rest >= 0 or len(runs) > _NESTED_MAX_RUNS_LARGE):
            runs = []  # too many runs in a large payload to decode each
    blob = wide.find(_BLOB_NEEDLE, first)
    skip = _blobs(data, wide, blob, state) if blob >= 0 else []
    _tokens(data, both, first, skip, state)
    if state.canary is None and runs:
        _nested_canary(data, runs, state, canaries)
    return state.findings()


def _runs(
    data: bytes, wide: bytes, needle: bytes, pos: int = 0
) -> tuple[list[tuple[int, int]], int]:
    """The spans of the runs at least as long as `needle` (at most _NESTED_MAX_RUNS), and
    where the runs not listed begin (-1: none left out)."""
    spans: list[tuple[int, int]] = []
    while (start := wide.find(needle, pos)) >= 0:
        if len(spans) == _NESTED_MAX_RUNS:
            return spans, start
        end = wide.find(b" ", start)
        pos = end = len(data) if end < 0 else end
        spans.append((start, end))
    return spans, -1


_GZIP = b"\x1f\x8b"
_ZLIB = (b"\x78\x01", b"\x78\x5e", b"\x78\x9c", b"\x78\xda")
_MAX_INFLATED = 8 * 1024 * 1024


def _inflate(data: bytes) -> bytes:
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


# Nested decoding: which runs to try, and how much to decode at most per payload.
_NESTED_MIN = 24
_NESTED_NEEDLE = b"a" * _NESTED_MIN
_NESTED_MAX_RUN = 64 * 1024
_NESTED_BUDGET = 1024 * 1024
_NESTED_MAX_RUNS = 4096
# A payload of LARGE or more with more runs than this is not decoded run by run (too
# slow for a 1 MiB body; its canary spellings are still searched as they are).
_NESTED_MAX_RUNS_LARGE = 512
_PIECES = re.compile(rb"[^=.%]{24,}")
_URLSAFE = bytes.maketrans(b"-_", b"+/")


def _nested_canary(
    data: bytes, runs: list[tuple[int, int]], state: _Scan, canaries: Canaries
) -> None:
    """Decode base64, hex and percent-encoded runs once and look for a canary in any
    spelling inside: a canary encoded twice (base64 of base64, hex of base64, …)."""
    needles = canaries.all
    budget = _NESTED_BUDGET
    for start, end in runs:
        if not _NESTED_MIN <= end - start <= _NESTED_MAX_RUN or data.startswith(b"//", start):
            continue  # too short, too long, or the rest of a URL after its `scheme:`
        run = data[start:end]
        decoded = [unquote_to_bytes(run)] if b"%" in run else []
        for piece in _PIECES.findall(run):
            if not piece.translate(None, _HEX) and len(piece) % 2 == 0:
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


def _bounded_canary(
    data: bytes, runs: list[tuple[int, int]], rest: int, state: _Scan, canaries: Canaries
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


def _blobs(data: bytes, wide: bytes, pos: int, state: _Scan) -> list[tuple[int, int]]:
    """Record the longest encoded run; return the encoded runs too long to search."""
    size = len(data)
    spans: list[tuple[int, int]] = []
    longest = (0, 0)
    start = wide.find(_BLOB_NEEDLE, pos)
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
            start = wide.find(_BLOB_NEEDLE, following)
    if not spans:
        return []
    skip = [s for s in spans if s[1] - s[0] > _MAX_SEARCHED_RUN and state.blob_run(data, *s)]
    if state.blob is None and not state.blob_run(data, *longest) and len(spans) > 1:
        # Only the longest blob is reported (the first of equals): classify from the
        # longest down and stop at the first encoded run, rather than classify each.
        for span in sorted(spans, key=lambda s: s[0] - s[1]):
            if span[1] - span[0] <= _MAX_SEARCHED_RUN and state.blob_run(data, *span):
                break
    return skip


def _tokens(data: bytes, both: bytes, pos: int, skip: list[tuple[int, int]], state: _Scan) -> None:
    """Match tokens ([A-Za-z0-9_.-] runs of at least _MIN_TOKEN) against the secret
    formats where one may start: at the token's start, or after a `_`, `-` or `.` in it.
    A token right after a field name's `:`/`=` (or its quote) is a generic-secret
    candidate; so is one inside a longer value (`+`, `/` or `%` before it)."""
    cat = state.catalogues
    initials, prefixes = cat.secret_initials, cat.secret_prefixes
    regex, inner = cat.secret_regex, cat.inner_regex
    size = len(data)
    limit = _MAX_TOKENS if size < _MAX_TOKENS * _BYTES_PER_TOKEN else size // _BYTES_PER_TOKEN
    # A large payload whose tokens keep asking for regex walks (JSON values, dotted
    # names) is finished per prefix: past this many walks that costs less.
    checks = _MAX_TOKENS if size < LARGE else _MAX_CHECKS
    count = k = 0
    judged = -1  # the run whose value was last judged as a whole
    while (start := both.find(_TOKEN_NEEDLE, pos)) >= 0:
        end = both.find(b" ", start)
        end = size if end < 0 else end
        other = both.find(b"b", start, end)
        pos = end = end if other < 0 else other
        if skip:
            while k < len(skip) and skip[k][1] <= start:
                k += 1
            if k < len(skip) and skip[k][0] <= start:
                pos = skip[k][1]
                continue
        count += 1
        if count > limit or state.checks > checks:
            _scan_dense(data, start, state)
            return
        if data[start] in initials and data.startswith(prefixes, start):
            state.note(regex.match(data, start))
        # Room for a character, a separator and a whole token after it. The regex walks
        # every byte, so a long token (encoded data) is first asked for a separator at
        # all, with three memchr-speed finds.
        length = end - start
        m = (
            inner.search(data, start, end)
            if length >= _MIN_TOKEN + 2
            and (
                length <= _SHORT_TOKEN
                or data.find(b"_", start, end) >= 0
                or data.find(b"-", start, end) >= 0
                or data.find(b".", start, end) >= 0
            )
            else None
        )
        if m is not None:
            state.checks += 1
        while m is not None:
            state.note(regex.match(data, m.end()))
            m = inner.search(data, m.end(), end)
        if start:
            lead = data[start - 1]
            if lead in _KEY_LEADS:
                state.generic(data[start - _KEY_WINDOW if start > _KEY_WINDOW else 0 : end])
            elif lead in _VALUE_INNER:
                # Inside a value such as `wJalr/K7MD/bPxRfiCY…` or `password=ab+cd…`: its
                # field name, if any, stands before the whole run or inside it.
                # Once per run, over the whole run (not again for each of its tokens).
                run = both.rfind(b" ", 0, start) + 1
                if run != judged and (
                    (run and data[run - 1] in _KEY_LEADS) or data.find(b"=", run, start) >= 0
                ):
                    judged = run
                    run_end = both.find(b" ", start)
                    state.generic(
                        data[max(0, run - _KEY_WINDOW) : size if run_end < 0 else run_end]
                    )


def _scan_dense(data: bytes, pos: int, state: _Scan) -> None:
    """Very many tokens: look for each secret prefix stem and each field name directly
    (from `pos` on; bounded and linear, though slower than the token walk)."""
    regex = state.catalogues.secret_regex
    prefixes = state.catalogues.secret_prefixes
    for stem in state.catalogues.secret_stems:
        at = data.find(stem, pos)
        while at >= 0:
            if data.startswith(prefixes, at):
                state.note(regex.match(data, at))
            at = data.find(stem, at + 1)
    lowered = data.lower()
    for word in _KEY_WORDS:
        at = lowered.find(word, max(0, pos - _KEY_WINDOW))
        hits = 0
        while at >= 0 and hits < _MAX_KEY_HITS and "generic" not in state.secrets:
            state.generic(data[at : at + _KEY_WINDOW + 200])
            at = lowered.find(word, at + 1)
            hits += 1
