"""Remembered decisions: what a person decided with a scope wider than once, how it
matches later requests (`decision_key`: the destination for egress, up to the band it
was given at), and the file that keeps the lasting ones across restarts (0600).
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

BANDS = ("low", "medium", "high", "critical")
LASTING = ("workspace", "always")  # kept across restarts of the service


def rank(band: str) -> int:
    """A band's place, low first (an unknown band counts as the riskiest)."""
    return BANDS.index(band) if band in BANDS else len(BANDS) - 1


@dataclass(frozen=True)
class Remembered:
    """A decision with a scope wider than once, applied to later requests.

    `signature` is what it matches (`decision_key`: `net HOST:PORT` for egress, else
    the batch signature); `band` the riskiest band it was given at."""

    signature: str
    decision: str
    scope: str
    batch: str
    session: str | None = None
    workspace: str | None = None
    expires: float | None = None
    band: str = "low"
    made: float | None = None  # when the person decided (None: remembered before this was kept)
    by: str = "user"  # only a person's decision is remembered

    @property
    def id(self) -> str:
        """Stable while the decision stands (across restarts too): what revoking names."""
        import hashlib

        text = json.dumps(asdict(self), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, **asdict(self)}

    def applies(
        self, key: str, session: str, workspace: str | None, now: float, band: str = "low"
    ) -> bool:
        if key != self.signature or (self.expires is not None and now >= self.expires):
            return False
        if self.decision == "allow" and rank(band) > rank(self.band):
            return False
        if self.scope == "session":
            return session == self.session
        if self.scope == "workspace":
            return workspace is not None and workspace == self.workspace
        return self.scope == "always"


_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}


def decision_key(event: dict[str, Any], signature: str) -> str:
    """What a remembered decision matches: `net HOST:PORT` for a request or a tunnel
    (whatever the method), the signature for anything else."""
    if event.get("kind") == "net.request":
        from urllib.parse import urlsplit

        try:
            parts = urlsplit(str(event.get("url", "")))
            port = parts.port or _DEFAULT_PORTS.get(parts.scheme.lower())
        except ValueError:
            return signature
        if parts.hostname:
            return f"net {parts.hostname.lower().rstrip('.')}:{port}"
    if event.get("kind") == "net.connect" and event.get("host"):
        return f"net {str(event['host']).lower().rstrip('.')}:{event.get('port')}"
    return signature


_OLD_BAND = re.compile(r" \[(low|medium|high|critical)\]$")
_OLD_NET = re.compile(r"^net\.(?:request \S+|connect) (\S+?)(?::(\d+))?$")


def upgrade(entry: dict[str, Any]) -> dict[str, Any]:
    """A decision remembered before the band left signatures: `net.request POST h [high]`
    becomes `net h:443` at band high (the port a signature left out was the default)."""
    if "band" in entry or not isinstance(entry.get("signature"), str):
        return entry
    signature, band = entry["signature"], "low"
    found = _OLD_BAND.search(signature)
    if found:
        signature, band = signature[: found.start()], found.group(1)
    net = _OLD_NET.match(signature)
    if net:
        signature = f"net {net.group(1)}:{net.group(2) or 443}"
    return {**entry, "signature": signature, "band": band}


def load_lasting(path: Path, now: float) -> list[Remembered]:
    """The lasting decisions kept in `path` that have not expired (none if unreadable,
    which is logged: a broken file must not stop the service)."""
    try:
        raw = json.loads(path.read_text())
        rules = [Remembered(**upgrade(entry)) for entry in raw]
    except FileNotFoundError:
        return []
    except (ValueError, TypeError) as exc:
        logger.error("ignoring unreadable remembered decisions in %s: %s", path, exc)
        return []
    return [r for r in rules if r.scope in LASTING and (r.expires is None or r.expires > now)]


def save_lasting(path: Path, rules: Iterable[Remembered]) -> None:
    """Write the lasting ones of `rules` to `path`, private, put in place by rename."""
    lasting = [asdict(r) for r in rules if r.scope in LASTING]
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(lasting, handle, indent=1)
    tmp.replace(path)
