"""Linear scans of outgoing data: canaries, secret formats, generic secrets, blobs.

The scan never runs a regex over the whole payload. It first maps every byte to one of
two symbols with `bytes.translate` (C speed), finds the runs of token characters long
enough to hold a secret, and runs the compiled secret patterns only inside those runs.
Plain prose has almost no such runs, so large bodies cost little more than the
translate; a single giant run is an encoded blob and is not searched for formats.
"""

from __future__ import annotations

import base64
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass

from triage.catalogues import Catalogues

# Two views of the payload, each one `bytes.translate` away. WIDE marks everything an
# encoding may use (base64 in both alphabets, hex, percent-encoding) to find blobs;
# NARROW marks token characters only, so each run is one candidate token.
_WIDE_CHARS = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=_-%"
_NARROW_CHARS = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
_WIDE = bytes(0x61 if b in _WIDE_CHARS else 0x20 for b in range(256))
_NARROW = bytes(0x61 if b in _NARROW_CHARS else 0x20 for b in range(256))
_B64ISH = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=_-"
_HEX = b"0123456789abcdefABCDEF"
# A run of encoding characters at least this long that looks encoded is a blob.
BLOB_MIN = 512
_BLOB_NEEDLE = b"a" * BLOB_MIN
# The shortest token worth testing against the secret formats.
_MIN_TOKEN = 16
_TOKEN_NEEDLE = b"a" * _MIN_TOKEN
# Generic secrets: how far before a token its field name may stand (`"api_key": "`).
_KEY_WINDOW = 40
_ASSIGN = (b":", b"=")


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


def canary_variants(canary: str) -> tuple[tuple[bytes, str], ...]:
    """Every spelling of a canary to look for: plain, base64 at each alignment (both
    alphabets), hex (both cases) and percent-encoded (both cases)."""
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
    seen: set[bytes] = set()
    unique = []
    for needle, how in out:
        if needle not in seen:
            seen.add(needle)
            unique.append((needle, how))
    return tuple(unique)


def _entropy(value: bytes) -> float:
    counts: dict[int, int] = {}
    for b in value:
        counts[b] = counts.get(b, 0) + 1
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in counts.values())


def _blob_kind(run: bytes) -> str | None:
    n = len(run)
    if not run.translate(None, _HEX):
        return "hex"
    if run.count(b"%") * 4 >= n:
        return "percent-encoded"
    if len(run.translate(None, _B64ISH)) * 100 <= n and len(set(run[:256])) >= 24:
        return "base64"
    return None


def scan(
    data: bytes,
    catalogues: Catalogues,
    canaries: Iterable[tuple[bytes, str]] = (),
    allowed: frozenset[bytes] = frozenset(),
) -> Findings:
    """Look through outgoing `data` once. `allowed` values (the session's own
    placeholders) are never reported as secrets."""
    if not data:
        return NOTHING
    canary = None
    for needle, how in canaries:
        if needle in data:
            canary = how
            break
    secrets: dict[str, SecretHit] = {}
    for anchors, pattern in catalogues.anywhere_secrets:
        # Formats such as key blocks hold spaces, so they are never one token.
        if any(a in data for a in anchors):
            for m in pattern.finditer(data):
                _note(m, catalogues, secrets, allowed)
    blob, blob_length, skip = _blobs(data)
    narrow = data.translate(_NARROW)
    prefixes = catalogues.secret_prefixes
    regex = catalogues.secret_regex
    size = len(data)
    pos = 0
    spans = iter(skip)
    next_skip = next(spans, None)
    while True:
        start = narrow.find(_TOKEN_NEEDLE, pos)
        if start < 0:
            break
        end = narrow.find(b" ", start)
        if end < 0:
            end = size
        pos = end
        while next_skip is not None and next_skip[1] <= start:
            next_skip = next(spans, None)
        if next_skip is not None and next_skip[0] <= start:
            pos = max(end, next_skip[1])
            continue
        if data.startswith(prefixes, start):
            hit = regex.match(data, start)
            if hit is not None:
                _note(hit, catalogues, secrets, allowed)
        if "generic" not in secrets and start and data[start - 1 : start] in b"\"' :=":
            window = data[max(0, start - _KEY_WINDOW) : end]
            g = catalogues.generic_regex.search(window)
            if g is not None:
                value = g.group(1)
                if value not in allowed and _entropy(value) >= catalogues.generic_min_entropy:
                    secrets["generic"] = SecretHit(
                        "generic", "random-looking value in a secret field"
                    )
    if canary is None and not secrets and blob is None:
        return NOTHING
    ordered = tuple(secrets[k] for k in sorted(secrets))
    return Findings(ordered, canary, blob, blob_length)


def _blobs(data: bytes) -> tuple[str | None, int, list[tuple[int, int]]]:
    """The kind and length of the longest encoded blob, and every blob's span."""
    if len(data) < BLOB_MIN:
        return None, 0, []
    wide = data.translate(_WIDE)
    blob: str | None = None
    longest = 0
    spans: list[tuple[int, int]] = []
    pos = 0
    while True:
        start = wide.find(_BLOB_NEEDLE, pos)
        if start < 0:
            break
        end = wide.find(b" ", start)
        if end < 0:
            end = len(data)
        pos = end
        kind = _blob_kind(data[start:end])
        if kind is not None:
            spans.append((start, end))
            if end - start > longest:
                blob, longest = kind, end - start
    return blob, longest, spans


def _note(
    m: re.Match[bytes],
    catalogues: Catalogues,
    found: dict[str, SecretHit],
    allowed: frozenset[bytes],
) -> None:
    if m.group(0) in allowed or m.lastgroup is None:
        return
    fmt = catalogues.secrets[int(m.lastgroup[1:])]
    found.setdefault(fmt.id, SecretHit(fmt.id, fmt.title))
