"""The catalogues triage judges by: credential locations, secret formats, destination
classes and agent files, read once from `resources/catalogues/*.yaml`.

Everything is compiled at load time so that matching is cheap: credential globs are
indexed by their last path segment, secret formats are one alternation searched only
inside runs of token characters (see `triage.payload`).
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from resources.credential_catalogue import CatalogueError, CredentialLocation, read_credentials

# A path under any user's home, when the session did not say which home is its own.
_ANY_HOME = r"(?:~[^/]*|/home/[^/]+|/Users/[^/]+|/root|/var/root)"
# /proc/self/root/… and /proc/PID/root/… reach the same files as the path after them.
_PROC_ROOT = re.compile(r"^/proc/(?:self|thread-self|\d+)/root(?=/)")


_HOME_ROOT = re.compile(r"^(?:/home/[^/]+|/Users/[^/]+|/root|/var/root)(?=/|$)")


def _static_prefix(glob: str) -> str:
    """The part of a glob before its first wildcard."""
    cut = min((glob.find(ch) for ch in "*?[" if ch in glob), default=len(glob))
    return glob[:cut]


def _stems(prefixes: tuple[bytes, ...]) -> tuple[bytes, ...]:
    """Fewer, shorter needles covering every prefix: prefixes sharing their first two
    bytes are looked for by those two bytes (`ghp_`, `gho_`, … by `gh`)."""
    groups: dict[bytes, list[bytes]] = {}
    for prefix in prefixes:
        groups.setdefault(prefix[:2], []).append(prefix)
    return tuple(key if len(group) > 1 else group[0] for key, group in groups.items())


# One reader of the credential catalogues, shared with the sandbox's decoys.
CredentialEntry = CredentialLocation


@dataclass(frozen=True)
class SecretFormat:
    """A secret's shape: literal prefixes it starts with, and the full pattern."""

    id: str
    title: str
    prefixes: tuple[str, ...]
    pattern: str
    anywhere: bool = False


@dataclass(frozen=True)
class DestinationClass:
    id: str
    title: str
    risk: str  # "low" or "high"
    domains: tuple[str, ...]


def glob_to_regex(glob: str, anywhere: bool = False) -> str:
    """Translate a catalogue glob into a regex matching a whole normalised path.

    `~` at the start is any home (or the literal `~` a path was rewritten to); `**/`
    is zero or more folders; `*` and `?` stay inside one folder. With `anywhere`, a
    glob that starts with neither `/` nor `~` may match at any depth.
    """
    out: list[str] = []
    i = 0
    if glob.startswith("~"):
        out.append(_ANY_HOME)
        i = 1
    elif not glob.startswith("/") and (anywhere or glob.startswith("**/")):
        out.append("(?:.*/)?")
        if glob.startswith("**/"):
            i = 3
    while i < len(glob):
        if glob.startswith("**/", i):
            out.append("(?:[^/]+/)*")
            i += 3
        elif glob.startswith("**", i):
            out.append(".*")
            i += 2
        elif glob[i] == "*":
            out.append("[^/]*")
            i += 1
        elif glob[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(glob[i]))
            i += 1
    return "".join(out)


def normalise_path(path: str, home: str | None) -> str:
    """Collapse `.`/`..`/`//` and write a path under `home` as `~/…` (pure string work)."""
    if path.startswith("~") and (len(path) == 1 or path[1] == "/") and home:
        path = home.rstrip("/") + path[1:]
    if "/." in path or "//" in path or path.endswith("/") or path.startswith("."):
        path = posixpath.normpath(path)
        if path.startswith("//"):
            path = "/" + path.lstrip("/")
    if path.startswith("/proc/"):
        path = _PROC_ROOT.sub("", path, count=1)
    if home:
        if "/." in home or "//" in home or home.endswith("/"):
            home = posixpath.normpath(home)
        if home != "/" and (path == home or path.startswith(home + "/")):
            path = "~" + path[len(home) :]
    return path


class GlobSet:
    """Many globs, each with a value; `match(path)` returns the first value that fits.

    Globs ending in a literal file name are indexed by it, so a path is only tried
    against the few globs that could match it; the rest form one alternation.
    """

    def __init__(self, items: Iterable[tuple[str, Any]], anywhere: bool = False) -> None:
        self._order: dict[int, int] = {}
        by_name: dict[str, list[tuple[int, re.Pattern[str], Any]]] = {}
        rest: list[str] = []
        self._rest_values: list[Any] = []
        for n, (glob, value) in enumerate(items):
            regex = glob_to_regex(glob, anywhere)
            last = glob.rsplit("/", 1)[-1]
            if last and not any(ch in last for ch in "*?") and last != "~":
                # Case-blind: macOS file systems are, and a false alarm costs less.
                by_name.setdefault(last.lower(), []).append((n, re.compile(regex, re.I), value))
            else:
                rest.append(f"(?P<g{len(self._rest_values)}>{regex})")
                self._rest_values.append((n, value))
        self._by_name = by_name
        self._rest = re.compile("|".join(rest), re.I) if rest else None

    def match(self, path: str) -> Any:
        best: tuple[int, Any] | None = None
        for n, regex, value in self._by_name.get(path.rsplit("/", 1)[-1].lower(), ()):
            if regex.fullmatch(path):
                best = (n, value)
                break
        if self._rest is not None:
            m = self._rest.fullmatch(path)
            if m is not None and m.lastgroup is not None:
                n, value = self._rest_values[int(m.lastgroup[1:])]
                if best is None or n < best[0]:
                    best = (n, value)
        return None if best is None else best[1]


@dataclass(frozen=True)
class Destination:
    """What triage knows about a host from the catalogues."""

    host: str
    klass: DestinationClass | None
    metadata: bool


class Catalogues:
    """The loaded catalogues. Build with `load_catalogues(folder)`."""

    def __init__(
        self,
        credentials: tuple[CredentialEntry, ...],
        secrets: tuple[SecretFormat, ...],
        generic: Mapping[str, Any],
        classes: tuple[DestinationClass, ...],
        metadata_hosts: Iterable[str],
        metadata_addresses: Iterable[str],
        memory_files: Iterable[str],
        protected_files: Iterable[str],
    ) -> None:
        self.credentials = credentials
        self.secrets = secrets
        self.classes = classes
        self.credential_titles = {c.id: c.title for c in credentials}
        # The fixed folder part of each rooted glob, to answer "what lies under here".
        self._credential_roots = tuple(
            (_static_prefix(g), c) for c in credentials for g in c.paths if g[:1] in "~/"
        )
        self._credential_globs = GlobSet((g, c) for c in credentials for g in c.paths)
        self._memory = GlobSet(((g, g) for g in memory_files), anywhere=True)
        self._protected = GlobSet(((g, g) for g in protected_files), anywhere=True)
        tokens = [(i, s) for i, s in enumerate(secrets) if not s.anywhere]
        self.secret_regex = re.compile(
            "|".join(f"(?P<s{i}>{s.pattern})" for i, s in tokens).encode()
        )
        # The same alternation for searching inside a run (each pattern asserts its own
        # left boundary, so a match may start anywhere).
        self.search_regex = self.secret_regex
        self.secret_prefixes = tuple(p.encode() for _, s in tokens for p in s.prefixes)
        self.secret_stems = _stems(self.secret_prefixes)
        self.secret_initials = frozenset(p[0] for p in self.secret_prefixes)
        # Inside a token, a format may start right after a `_`, `-` or `.`.
        self.inner_regex = re.compile(
            b"[-_.](?=" + b"|".join(re.escape(p) for p in self.secret_prefixes) + b")"
        )
        self.anywhere_anchors = tuple(
            (anchor, re.compile(f"(?P<s{i}>{s.pattern})".encode()))
            for i, s in enumerate(secrets)
            if s.anywhere
            for anchor in (p.encode() for p in s.prefixes)
        )
        self.generic_regex = re.compile(
            (
                r"(?i)" + str(generic["key"]) + r"[\"']?\s*[:=]\s*[\"']?(?:bearer\s+|basic\s+)?"
                r"([A-Za-z0-9+/_\-.=]{" + str(int(generic["min_length"])) + r",})"
            ).encode()
        )
        # The field name alone, case-sensitive, for a lower-cased window: a bytes
        # pattern's (?i) and bytes.lower() both fold ASCII only, so this says exactly
        # whether the case-blind pattern could match, several times faster (a (?i)
        # alternation is tried at every byte). Only for a key written in lower case
        # (`\S` lowered would change meaning).
        key = str(generic["key"])
        self.generic_key = re.compile(f"(?:{key})".encode()) if key == key.lower() else None
        self.generic_min_entropy = float(generic["min_entropy"])
        self._domains: dict[str, DestinationClass] = {}
        for klass in classes:
            for domain in klass.domains:
                self._domains.setdefault(domain.lower().strip("."), klass)
        self.metadata_hosts = frozenset(h.lower() for h in metadata_hosts)
        self.metadata_addresses = frozenset(metadata_addresses)

    def match_credential(self, path: str, home: str | None = None) -> CredentialEntry | None:
        """The credential stored at `path`, if it is a known location.

        `~` and `home` are the session's home; paths under `/home/*/`, `/Users/*/` and
        `/root/` are recognised too, so a session without a home is still covered.
        """
        return self.credential_at(normalise_path(path, home))

    def credential_at(self, normalised: str) -> CredentialEntry | None:
        """`match_credential` for a path already passed through `normalise_path`."""
        entry: CredentialEntry | None = self._credential_globs.match(normalised)
        return entry

    def credentials_under(
        self, folder: str, home: str | None = None
    ) -> tuple[CredentialEntry, ...]:
        """Known credential locations inside `folder` (a search there reads them).
        Globs that match at any depth (`**/.env`) are left out: every folder has those."""
        root = _HOME_ROOT.sub("~", normalise_path(folder, home), count=1).rstrip("/")
        found: dict[str, CredentialEntry] = {}
        for prefix, entry in self._credential_roots:
            if (root in ("", "~") and prefix.startswith(root)) or prefix.startswith(root + "/"):
                found.setdefault(entry.id, entry)
        return tuple(found.values())

    def match_memory(self, path: str, home: str | None = None) -> str | None:
        """The glob naming `path` as an agent instruction or settings file, if any."""
        glob: str | None = self._memory.match(normalise_path(path, home))
        return glob

    def memory_at(self, normalised: str) -> str | None:
        """`match_memory` for a path already passed through `normalise_path`."""
        glob: str | None = self._memory.match(normalised)
        return glob

    def protected_at(self, normalised: str) -> str | None:
        """`match_protected` for a path already passed through `normalise_path`."""
        glob: str | None = self._protected.match(normalised)
        return glob

    def match_protected(self, path: str, home: str | None = None) -> str | None:
        """The glob naming `path` as a persistence location (start-up file, hook), if any."""
        glob: str | None = self._protected.match(normalise_path(path, home))
        return glob

    def destination(self, host: str) -> Destination:
        """Classify a host (lower-case, no port) by the destination catalogue."""
        klass = None
        probe = host
        while True:
            klass = self._domains.get(probe)
            if klass is not None:
                break
            dot = probe.find(".")
            if dot < 0:
                break
            probe = probe[dot + 1 :]
        metadata = host in self.metadata_hosts or host in self.metadata_addresses
        return Destination(host, klass, metadata)


def _load_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise CatalogueError(f"{path}: {exc}") from exc
    if not isinstance(data, dict):
        raise CatalogueError(f"{path}: expected a mapping at the top")
    return data


def _str_tuple(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise CatalogueError(f"{where}: expected a list of strings")
    return tuple(value)


def load_catalogues(folder: Path) -> Catalogues:
    """Read and compile every catalogue in `folder` (normally resources/catalogues)."""
    # credentials.yaml is shared with the sandbox's decoys; sensitive.yaml is triage's own.
    credentials = [
        entry
        for name in ("credentials.yaml", "sensitive.yaml")
        if name == "credentials.yaml" or (folder / name).exists()
        for entry in read_credentials(folder / name)
    ]
    sec = _load_yaml(folder / "secrets.yaml")
    secrets = tuple(
        SecretFormat(
            str(s["id"]),
            str(s["title"]),
            _str_tuple(s["prefixes"], f"secrets.yaml {s.get('id')}"),
            str(s["pattern"]),
            bool(s.get("anywhere", False)),
        )
        for s in sec["secrets"]
    )
    dest = _load_yaml(folder / "destinations.yaml")
    classes = tuple(
        DestinationClass(
            str(c["id"]),
            str(c["title"]),
            str(c["risk"]),
            _str_tuple(c["domains"], f"destinations.yaml class {c.get('id')}"),
        )
        for c in dest["classes"]
    )
    meta = dest.get("metadata") or {}
    agent = _load_yaml(folder / "agent_files.yaml")
    try:
        return Catalogues(
            credentials=tuple(credentials),
            secrets=secrets,
            generic=sec["generic"],
            classes=classes,
            metadata_hosts=_str_tuple(meta.get("hosts", []), "destinations.yaml metadata.hosts"),
            metadata_addresses=_str_tuple(
                meta.get("addresses", []), "destinations.yaml metadata.addresses"
            ),
            memory_files=_str_tuple(agent["memory"], "agent_files.yaml memory"),
            protected_files=_str_tuple(agent["protected"], "agent_files.yaml protected"),
        )
    except re.error as exc:
        raise CatalogueError(f"{folder}: a pattern does not compile: {exc}") from exc
