"""The sandbox policy: what an agent may see, write and reach, read from YAML.

A policy is built from several files, in order: the shipped defaults, the user's file,
any file named on the command line (each may widen or narrow), and last the optional
`.sandgate.yaml` at the workspace root, which may only narrow. Each file has the same
sections at the top level (applying to every profile) and under `profiles: NAME:`
(applying when that profile is chosen, explicitly or because the command's name is in
the profile's `commands`). Lists add up; `network.resolve` merges; the scalar settings
`upstream_ca`, `ask_timeout` and `network.fetch` (a list) take the last value written.

Every problem is a `PolicyError` naming the file, the line and what is wrong, so a bad
file stops the run before anything starts. The files are only read, never written.

This module decides which files and profiles apply and how they add up; reading and
checking one file is sandbox/policy_schema.py, the frozen result sandbox/policy_model.py
(both re-exported here, the names the rest of Sandgate imports).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from types import MappingProxyType

import yaml

from sandbox.policy_model import (
    BoundCredential,
    EnvPolicy,
    Login,
    Mode,
    NetworkPolicy,
    Policy,
    TrustedPath,
)
from sandbox.policy_schema import (
    PROFILE_KEYS,
    TOP_KEYS,
    Keys,
    PolicyError,
    PolicyReader,
    check_version,
    read_sections,
)

__all__ = [
    "WORKSPACE_FILE",
    "BoundCredential",
    "EnvPolicy",
    "Login",
    "Mode",
    "NetworkPolicy",
    "Policy",
    "PolicyError",
    "TrustedPath",
    "load_policy",
    "policy_files",
]

WORKSPACE_FILE = ".sandgate.yaml"

# What a workspace file may say: each of these only takes something away.
_NARROWING = {
    "version": "",
    "deny": "",
    "protected": "",
    "memory": "",
    "env": "block",
    "network": "deny",
}


def policy_files(defaults: Path, user: Path | None, extra: Sequence[Path] = ()) -> list[Path]:
    """The files a session reads, in order: the defaults, the user's file if it exists,
    then files named explicitly (which must exist)."""
    files = [defaults]
    if user is not None and user.exists():
        files.append(user)
    files.extend(extra)
    return files


def load_policy(
    *files: Path,
    workspace: Path | None = None,
    profile: str | None = None,
    command: Sequence[str] = (),
    home: Path | None = None,
) -> Policy:
    """Read and merge policy files into the effective `Policy` for one session.

    `profile` names the profile; when None, the first profile whose `commands` holds the
    base name of `command[0]` is used, or none. The workspace's `.sandgate.yaml` (if
    any) is applied last and may only narrow. Raises `PolicyError`.
    """
    acc = _Accumulator()
    profiles: dict[str, list[tuple[PolicyReader, yaml.MappingNode]]] = {}
    commands: dict[str, str] = {}
    for index, file in enumerate(files):
        reader = PolicyReader(file)
        root = reader.root()
        if root is None:
            continue
        keys = reader.mapping(root, TOP_KEYS, "the policy")
        check_version(reader, keys)
        acc.add(reader, keys, home)
        if "profiles" in keys:
            node = keys["profiles"][1]
            for name, (key_node, body) in reader.mapping(node, None, "profiles").items():
                if not isinstance(body, yaml.MappingNode):
                    raise reader.error(body, f"profile {name!r} must be a mapping of sections")
                profile_keys = reader.mapping(body, PROFILE_KEYS, f"profile {name!r}")
                if index > 0 and name not in profiles:
                    _check_new_profile(reader, key_node, name, profile_keys, profiles)
                for cmd in reader.strings(profile_keys, "commands"):
                    commands.setdefault(cmd, name)
                # Checked now, chosen or not: a mistake should not wait for its agent.
                read_sections(reader, profile_keys, home)
                profiles.setdefault(name, []).append((reader, body))
    chosen = profile
    if chosen is None and command:
        chosen = commands.get(os.path.basename(command[0]))
    if chosen is not None:
        if chosen not in profiles:
            known = ", ".join(sorted(profiles)) or "none"
            raise PolicyError(
                files[-1] if files else "policy",
                None,
                f"unknown profile {chosen!r} (known: {known})",
            )
        for reader, body in profiles[chosen]:
            acc.add(reader, reader.mapping(body, PROFILE_KEYS, f"profile {chosen!r}"), home)
    sources = list(files)
    if workspace is not None:
        local = workspace / WORKSPACE_FILE
        if local.is_file():
            reader = PolicyReader(local)
            root = reader.root()
            if root is not None:
                keys = reader.mapping(root, None, "the workspace policy")
                _check_narrowing(reader, keys)
                check_version(reader, keys)
                acc.add(reader, keys, home)
            sources.append(local)
    return acc.build(chosen, tuple(sources), tuple(profiles))


def _check_new_profile(
    reader: PolicyReader, node: yaml.Node, name: str, keys: Keys, known: Mapping[str, object]
) -> None:
    """A profile a later file adds must say what it is for (`commands` or
    `description`): otherwise it is most likely a misspelt name of a shipped one, and
    what it holds would silently apply to nothing."""
    if "commands" in keys or "description" in keys:
        return
    import difflib

    close = difflib.get_close_matches(name, list(known), n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    raise reader.error(
        node,
        f"profile {name!r} is not one of {', '.join(sorted(known)) or 'none'}: {hint}"
        "(a new profile needs 'commands' or 'description')",
    )


def _check_narrowing(reader: PolicyReader, keys: Keys) -> None:
    for name, (key_node, value) in keys.items():
        if name not in _NARROWING:
            raise reader.error(
                key_node,
                f"{name!r} is not allowed in a workspace policy: it could widen the sandbox "
                "(a workspace file may only add deny, protected, memory, env.block, "
                "network.deny)",
            )
        sub = _NARROWING[name]
        if sub and isinstance(value, yaml.MappingNode):
            for inner, (inner_key, _) in reader.mapping(value, None, name).items():
                if inner != sub:
                    raise reader.error(
                        inner_key,
                        f"'{name}.{inner}' is not allowed in a workspace policy: it could "
                        f"widen the sandbox (only '{name}.{sub}' may be set here)",
                    )


class _Accumulator:
    """Adds up the sections of files and profiles in order; `build()` freezes them.
    Lists add up, `env.set` and `network.resolve` merge, the last scalar wins."""

    def __init__(self) -> None:
        self.trusted: list[TrustedPath] = []
        self.expose: list[str] = []
        self.deny: list[str] = []
        self.protected: list[str] = []
        self.memory: list[str] = []
        self.scratch: list[str] = []
        self.env_pass: list[str] = []
        self.env_block: list[str] = []
        self.env_set: dict[str, str] = {}
        self.allow: list[str] = []
        self.net_deny: list[str] = []
        self.resolve: dict[str, str] = {}
        self.upstream_ca: Path | None = None
        self.ask_timeout = 60.0
        self.fetch: list[str] = []
        self.credentials: dict[str, BoundCredential] = {}
        self.logins: dict[str, Login] = {}  # by vendor: a later file's entry replaces
        self.origins: dict[str, str] = {}

    def add(self, r: PolicyReader, keys: Keys, home: Path | None) -> None:
        """Check the sections in `keys` and add them to what came before."""
        s = read_sections(r, keys, home, bound=self.credentials.keys())
        self.trusted += s.trusted
        self.expose += s.expose
        self.deny += s.deny
        self.protected += s.protected
        self.memory += s.memory
        self.scratch += s.scratch
        self.env_pass += s.env_pass
        self.env_block += s.env_block
        self.env_set.update(s.env_set)
        self.allow += s.allow
        self.net_deny += s.net_deny
        self.resolve.update(s.resolve)
        if s.upstream_ca is not None:
            self.upstream_ca = s.upstream_ca
        if s.ask_timeout is not None:
            self.ask_timeout = s.ask_timeout
        if s.fetch is not None:  # the last file to name it sets it: `fetch: []` turns it off
            self.fetch = s.fetch
        for credential in s.credentials:
            self.credentials[credential.name] = credential
        for login in s.logins:
            self.logins.pop(login.vendor, None)
            self.logins[login.vendor] = login
        # A trusted path named again takes its later line (the later entry wins); other
        # entries add up, so the first line that named one explains it.
        for key, where in s.origins.items():
            if key.startswith("trusted "):
                self.origins[key] = where
            else:
                self.origins.setdefault(key, where)

    def build(
        self, profile: str | None, sources: tuple[Path, ...], names: tuple[str, ...]
    ) -> Policy:
        return Policy(
            profile=profile,
            trusted=tuple(_unique_trusted(self.trusted)),
            deny=_unique(self.deny),
            protected=_unique(self.protected),
            memory=_unique(self.memory),
            env=EnvPolicy(
                _unique(self.env_pass),
                _unique(self.env_block),
                MappingProxyType(dict(self.env_set)),
            ),
            network=NetworkPolicy(
                _unique(self.allow),
                _unique(self.net_deny),
                MappingProxyType(dict(self.resolve)),
                self.upstream_ca,
                self.ask_timeout,
                _unique(self.fetch),
            ),
            credentials=tuple(self.credentials.values()),
            sources=sources,
            profiles=names,
            scratch=_unique(self.scratch),
            expose=_unique(self.expose),
            logins=tuple(self.logins.values()),
            origins=MappingProxyType(dict(self.origins)),
        )


def _unique(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


def _unique_trusted(items: Iterable[TrustedPath]) -> list[TrustedPath]:
    # A later entry for the same path wins (a user file may turn ro into rw or back).
    by_path: dict[str, TrustedPath] = {}
    for item in items:
        by_path.pop(item.pattern, None)
        by_path[item.pattern] = item
    return list(by_path.values())
