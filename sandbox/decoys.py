"""Decoys: fake credentials with a per-session canary, shown where real ones live.

For each credential location of the catalogue (`resources/catalogues/credentials.yaml`)
that exists on the host, a decoy of the same format is written into the session folder
and bound read-only over that path inside the sandbox. Nothing of the real file is ever
read: a decoy is built from the format name and the canary alone, so a read inside
yields only the canary, and any attempt to carry it out is recognisable. The service
watches the host copy of each decoy (inotify sees opens made through the bind mount).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

# The catalogue's reader lives in resources/, shared with triage; its names are the
# sandbox's too.
from resources.credential_catalogue import CatalogueError as CatalogueError
from resources.credential_catalogue import CredentialLocation as CredentialLocation
from resources.credential_catalogue import read_credentials
from sandbox.patterns import compile_rooted, expand, literal_prefix, split_root

CanaryFactory = Callable[[str], str]
"""Given a credential id, returns a fresh canary token (letters, digits, `-`, `_`)."""


@dataclass(frozen=True)
class Decoy:
    """A decoy written for one session: `host_file` (in the session folder) is shown
    read-only at `sandbox_path` (the real credential's place) and carries `canary`."""

    host_file: Path
    sandbox_path: Path
    credential_id: str
    canary: str

    @property
    def host(self) -> Path:
        return self.host_file

    @property
    def credential(self) -> str:
        return self.credential_id


def load_catalogue(path: Path) -> tuple[CredentialLocation, ...]:
    """Read the credential catalogue (see docs/contracts.md for its schema)."""
    return read_credentials(path)


def found_credentials(
    catalogue: Sequence[CredentialLocation],
    home: Path,
    workspace: Path | None = None,
    visible_roots: Sequence[str] = (),
) -> list[tuple[CredentialLocation, Path]]:
    """The catalogue's locations that exist on this host, as (entry, host path).

    A relative pattern (`**/.env`) is looked for in the workspace. A `**` pattern that
    would walk the whole home or the whole disk (`~/**/*.kdbx`) is looked for only
    inside `visible_roots`, the host trees the sandbox shows: elsewhere it is hidden
    anyway, and walking a home folder costs seconds. Every walk is bounded.
    """
    seen: set[Path] = set()
    out: list[tuple[CredentialLocation, Path]] = []
    wide_roots = {"", str(home).rstrip("/")}
    for entry in catalogue:
        for pattern in entry.paths:
            parts = split_root(pattern, workspace, home)
            if parts is None:
                continue
            root, below = parts  # the root as named, never as a pattern
            if not pattern.startswith(("~", "/")):
                found = bounded_find([root], compile_rooted(root, below))
            elif "**" in below and _fixed(root, below) in wide_roots:
                found = bounded_find(visible_roots, compile_rooted(root, below))
            else:
                found = expand(below, root or None, limit=200)
            for path in found:
                if path not in seen:
                    seen.add(path)
                    out.append((entry, path))
    return out


def _fixed(root: str, pattern: str) -> str:
    """The folder a rooted pattern's walk would start from, without a trailing slash."""
    fixed = literal_prefix(pattern)
    return (os.path.join(root, fixed) if root else fixed).rstrip("/")


# Folders a bounded walk does not enter: large, generated, and not where people keep
# their secrets.
SKIPPED = frozenset(
    {
        "node_modules",
        ".git",
        ".venv",
        "venv",
        "__pycache__",
        ".cache",
        "target",
        "dist",
        "build",
        ".tox",
        ".mypy_cache",
    }
)


def bounded_find(roots: Iterable[str], regex: re.Pattern[str], limit: int = 20_000) -> list[Path]:
    """Paths under `roots` matching `regex` (whole absolute paths), looking at `limit`
    entries at most and skipping generated folders (see SKIPPED)."""
    found: list[Path] = []
    seen = 0
    for root in roots:
        for current, dirs, files in os.walk(root):
            dirs[:] = [d for d in dirs if d not in SKIPPED]
            for name in (*files, *dirs):
                seen += 1
                candidate = os.path.join(current, name)
                if regex.match(candidate):
                    found.append(Path(candidate))
            if seen > limit:
                break
    return found


def write_decoys(
    found: Sequence[tuple[CredentialLocation, Path]], session_dir: Path, canaries: CanaryFactory
) -> list[Decoy]:
    """Write one decoy per found location (format `none` gets none) into session_dir."""
    folder = session_dir / "decoys"
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    decoys: list[Decoy] = []
    for index, (entry, path) in enumerate(found):
        if entry.format == "none" or not path.is_file():
            continue  # hidden by the plan instead (a folder, or never faked)
        canary = canaries(entry.id)
        host_file = folder / f"{index:03d}-{entry.id}-{path.name}"
        fd = os.open(host_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(render(entry.format, canary, path.name))
        decoys.append(Decoy(host_file, path, entry.id, canary))
    return decoys


def render(fmt: str, canary: str, name: str = "") -> str:
    """The decoy text for a format: plausible to a reader, carrying the canary verbatim."""
    digest = hashlib.sha256(canary.encode()).digest()
    key_id = "AKIA" + base64.b32encode(digest).decode()[:16]
    if fmt == "aws-ini":
        return (
            f"[default]\naws_access_key_id = {key_id}\naws_secret_access_key = {canary}\n"
            "region = us-east-1\n"
        )
    if fmt == "ssh-private-key":
        if name.endswith(".pub"):
            blob = base64.b64encode(b"\x00\x00\x00\x0bssh-ed25519\x00\x00\x00 " + digest).decode()
            return f"ssh-ed25519 {blob} {canary}\n"
        body = base64.b64encode(b"openssh-key-v1\x00" + digest * 6).decode()
        lines = [body[i : i + 70] for i in range(0, len(body), 70)]
        lines.insert(2, canary)  # base64-shaped and unbroken, so an upload shows it
        return (
            "-----BEGIN OPENSSH PRIVATE KEY-----\n"
            + "\n".join(lines)
            + ("\n-----END OPENSSH PRIVATE KEY-----\n")
        )
    if fmt == "netrc":
        return f"machine api.github.com\n  login sandgate\n  password {canary}\n"
    if fmt == "git-credentials":
        return f"https://sandgate:{canary}@github.com\n"
    if fmt == "json":
        return (
            json.dumps(
                {"auths": {"https://index.docker.io/v1/": {"auth": canary}}, "token": canary},
                indent=2,
            )
            + "\n"
        )
    if fmt == "yaml":
        return f"github.com:\n    oauth_token: {canary}\n    user: sandgate\ntoken: {canary}\n"
    if fmt == "ini":
        return f"[default]\ntoken = {canary}\npassword = {canary}\n"
    if fmt == "env":
        return f"API_KEY={canary}\nSECRET_TOKEN={canary}\n"
    return f"{canary}\n"
