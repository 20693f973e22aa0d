"""What a payload scan reports, and the tally that gathers it during one scan."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from triage.catalogues import Catalogues


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


def _entropy(value: bytes) -> float:
    counts: dict[int, int] = {}
    for b in value:
        counts[b] = counts.get(b, 0) + 1
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in counts.values())


class Tally:
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
        """Record a secret-format match, unless it is one of the allowed values."""
        if m is None or m.lastgroup is None or m.group(0) in self.allowed:
            return
        fmt = self.catalogues.secrets[int(m.lastgroup[1:])]
        self.secrets.setdefault(fmt.id, SecretHit(fmt.id, fmt.title))

    def generic(self, window: bytes) -> None:
        """Record a generic secret if `window` holds a secret field with a random value."""
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

    def findings(self) -> Findings:
        if self.canary is None and not self.secrets and self.blob is None:
            return NOTHING
        ordered = tuple(self.secrets[k] for k in sorted(self.secrets))
        return Findings(ordered, self.canary, self.blob, self.blob_length)
