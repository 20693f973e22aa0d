"""The one reader of the credential catalogues (`catalogues/credentials.yaml`, and
triage's own `catalogues/sensitive.yaml`), shared by the sandbox's decoys and triage.

A leaf: standard library and PyYAML only, so `sandbox/` and `triage/` may both import
it without depending on each other, and the two can never read the schema differently
(docs/contracts.md documents it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

# How a decoy of each credential is written (sandbox/decoys.py); `none` is never
# decoyed, only hidden (binary stores).
FORMATS = frozenset(
    {"aws-ini", "ssh-private-key", "netrc", "git-credentials", "json", "yaml", "ini", "env"}
    | {"text", "none"}
)


class CatalogueError(ValueError):
    """A catalogue file that cannot be used, naming the file and the entry."""


@dataclass(frozen=True)
class CredentialLocation:
    """One catalogue entry: a stable id, a title for people, where the credential lives
    (globs; `~` is the home, `**` crosses folders) and how to fake it."""

    id: str
    title: str
    paths: tuple[str, ...]
    format: str


def read_credentials(path: Path) -> tuple[CredentialLocation, ...]:
    """Every entry of the catalogue file at `path`, checked; raises CatalogueError."""
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
    except (OSError, yaml.YAMLError) as exc:
        raise CatalogueError(f"{path}: {exc}") from None
    return parse_credentials(data, path.name)


def parse_credentials(data: Any, where: str) -> tuple[CredentialLocation, ...]:
    """The entries of an already parsed catalogue (`where` names it in errors)."""
    entries = data.get("credentials") if isinstance(data, Mapping) else None
    if entries is None and isinstance(data, Mapping):
        return ()
    if not isinstance(entries, list):
        raise CatalogueError(f"{where}: expected a top-level 'credentials' list")
    out: list[CredentialLocation] = []
    for index, entry in enumerate(entries):
        at = f"{where} entry {index}"
        if not isinstance(entry, Mapping) or not isinstance(entry.get("id"), str):
            raise CatalogueError(f"{at}: each credential needs an 'id'")
        at = f"{where} entry {index} ({entry['id']})"
        paths = entry.get("paths")
        if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
            raise CatalogueError(f"{at}: 'paths' must be a list of strings")
        fmt = entry.get("format", "text")
        if fmt not in FORMATS:
            raise CatalogueError(f"{at}: unknown format {fmt!r}")
        title = entry.get("title", entry["id"])
        if not isinstance(title, str):
            raise CatalogueError(f"{at}: 'title' must be a string")
        out.append(CredentialLocation(entry["id"], title, tuple(paths), fmt))
    return tuple(out)
