"""The sandbox policy: what an agent may see, write and reach, read from YAML.

A policy is built from several files, in order: the shipped defaults, the user's file,
any file named on the command line (each may widen or narrow), and last the optional
`.sandgate.yaml` at the workspace root, which may only narrow. Each file has the same
sections at the top level (applying to every profile) and under `profiles: NAME:`
(applying when that profile is chosen, explicitly or because the command's name is in
the profile's `commands`). Lists add up; `network.resolve` merges; the scalar settings
`upstream_ca` and `ask_timeout` take the last value written.

Every problem is a `PolicyError` naming the file, the line and what is wrong, so a bad
file stops the run before anything starts. The files are only read, never written.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

import yaml

WORKSPACE_FILE = ".sandgate.yaml"

Mode = Literal["ro", "rw"]

_SECTIONS = ("trusted", "scratch", "deny", "protected", "memory", "env", "network", "credentials")
_TOP_KEYS = frozenset({"version", "profiles", *_SECTIONS})
_PROFILE_KEYS = frozenset({"description", "commands", *_SECTIONS})
_ENV_KEYS = frozenset({"pass", "block", "set"})
_NETWORK_KEYS = frozenset({"allow", "deny", "resolve", "upstream_ca", "ask_timeout"})
_CREDENTIAL_KEYS = frozenset({"name", "domain", "header", "env"})
_TRUSTED_KEYS = frozenset({"path", "mode", "create"})
# What a workspace file may say: each of these only takes something away.
_NARROWING = {
    "version": "",
    "deny": "",
    "protected": "",
    "memory": "",
    "env": "block",
    "network": "deny",
}
_STR = "tag:yaml.org,2002:str"


class PolicyError(ValueError):
    """A policy file that cannot be used: `file:line: problem`."""

    def __init__(self, file: Path | str, line: int | None, problem: str) -> None:
        self.file = Path(file)
        self.line = line
        self.problem = problem
        where = f"{file}:{line}" if line is not None else f"{file}"
        super().__init__(f"{where}: {problem}")


@dataclass(frozen=True)
class TrustedPath:
    """A host path shown inside the sandbox at the same place. `create` makes a
    missing folder on the host first (only for `rw` folders an agent keeps state in)."""

    pattern: str
    mode: Mode = "ro"
    create: bool = False


@dataclass(frozen=True)
class NetworkPolicy:
    """The network section, rule strings kept as written (sandbox/proxy/rules.py reads them)."""

    allow: tuple[str, ...] = ()
    deny: tuple[str, ...] = ()
    resolve: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    upstream_ca: Path | None = None
    ask_timeout: float = 60.0


@dataclass(frozen=True)
class BoundCredential:
    """A keyring credential the proxy swaps in on one domain; the agent gets a placeholder."""

    name: str
    domain: str
    header: str
    env: str


@dataclass(frozen=True)
class EnvPolicy:
    """`pass`: names (globs) let through even if they look secret; `block`: removed
    even if they do not; `set`: values given to the agent."""

    pass_: tuple[str, ...] = ()
    block: tuple[str, ...] = ()
    set: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True)
class Policy:
    """The effective policy for one session (frozen)."""

    profile: str | None
    trusted: tuple[TrustedPath, ...]
    deny: tuple[str, ...]
    protected: tuple[str, ...]
    memory: tuple[str, ...]
    env: EnvPolicy
    network: NetworkPolicy
    credentials: tuple[BoundCredential, ...]
    sources: tuple[Path, ...]
    profiles: tuple[str, ...] = ()
    scratch: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Plain data in the shape of a policy file (what `sandgate policy check` prints)."""
        return {
            "profile": self.profile,
            "sources": [str(s) for s in self.sources],
            "trusted": [
                {"path": t.pattern, "mode": t.mode, **({"create": True} if t.create else {})}
                for t in self.trusted
            ],
            "scratch": list(self.scratch),
            "deny": list(self.deny),
            "protected": list(self.protected),
            "memory": list(self.memory),
            "env": {
                "pass": list(self.env.pass_),
                "block": list(self.env.block),
                "set": dict(self.env.set),
            },
            "network": {
                "allow": list(self.network.allow),
                "deny": list(self.network.deny),
                "resolve": dict(self.network.resolve),
                "upstream_ca": str(self.network.upstream_ca) if self.network.upstream_ca else None,
                "ask_timeout": self.network.ask_timeout,
            },
            "credentials": [
                {"name": c.name, "domain": c.domain, "header": c.header, "env": c.env}
                for c in self.credentials
            ],
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
    profiles: dict[str, list[tuple[_Reader, yaml.MappingNode]]] = {}
    commands: dict[str, str] = {}
    for file in files:
        reader = _Reader(file)
        root = reader.root()
        if root is None:
            continue
        keys = reader.mapping(root, _TOP_KEYS, "the policy")
        _check_version(reader, keys)
        acc.add(reader, keys, home)
        if "profiles" in keys:
            node = keys["profiles"][1]
            for name, (_, body) in reader.mapping(node, None, "profiles").items():
                if not isinstance(body, yaml.MappingNode):
                    raise reader.error(body, f"profile {name!r} must be a mapping of sections")
                profile_keys = reader.mapping(body, _PROFILE_KEYS, f"profile {name!r}")
                for cmd in reader.strings(profile_keys, "commands"):
                    commands.setdefault(cmd, name)
                # Checked now, chosen or not: a mistake should not wait for its agent.
                _Accumulator().add(reader, profile_keys, home)
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
            acc.add(reader, reader.mapping(body, _PROFILE_KEYS, f"profile {chosen!r}"), home)
    sources = list(files)
    if workspace is not None:
        local = workspace / WORKSPACE_FILE
        if local.is_file():
            reader = _Reader(local)
            root = reader.root()
            if root is not None:
                keys = reader.mapping(root, None, "the workspace policy")
                _check_narrowing(reader, keys)
                _check_version(reader, keys)
                acc.add(reader, keys, home)
            sources.append(local)
    return acc.build(chosen, tuple(sources), tuple(profiles))


def _check_version(reader: _Reader, keys: Mapping[str, tuple[yaml.Node, yaml.Node]]) -> None:
    if "version" in keys:
        node = keys["version"][1]
        if reader.scalar(node) != 1:
            raise reader.error(node, "unsupported policy version (this Sandgate reads version 1)")


def _check_narrowing(reader: _Reader, keys: Mapping[str, tuple[yaml.Node, yaml.Node]]) -> None:
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


class _Reader:
    """Reads one file's YAML node tree, turning every problem into a PolicyError."""

    def __init__(self, file: Path) -> None:
        self.file = file

    def root(self) -> yaml.Node | None:
        try:
            text = self.file.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise PolicyError(self.file, None, "no such file") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise PolicyError(self.file, None, f"cannot read: {exc}") from None
        loader_class = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        try:
            node: yaml.Node | None = yaml.compose(text, Loader=loader_class)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = mark.line + 1 if mark is not None else None
            raise PolicyError(self.file, line, f"not valid YAML: {exc.problem}") from None
        except yaml.YAMLError as exc:
            raise PolicyError(self.file, None, f"not valid YAML: {exc}") from None
        if node is None or (node.tag.endswith(":null") and isinstance(node, yaml.ScalarNode)):
            return None
        return node

    def error(self, node: yaml.Node, problem: str) -> PolicyError:
        return PolicyError(self.file, node.start_mark.line + 1, problem)

    def mapping(
        self, node: yaml.Node, allowed: frozenset[str] | None, what: str
    ) -> dict[str, tuple[yaml.Node, yaml.Node]]:
        if not isinstance(node, yaml.MappingNode):
            raise self.error(node, f"{what} must be a mapping (key: value)")
        out: dict[str, tuple[yaml.Node, yaml.Node]] = {}
        for key, value in node.value:
            if not isinstance(key, yaml.ScalarNode) or key.tag != _STR:
                raise self.error(key, f"keys in {what} must be plain names")
            name = str(key.value)
            if allowed is not None and name not in allowed:
                known = ", ".join(sorted(allowed))
                raise self.error(key, f"unknown key {name!r} in {what} (known: {known})")
            if name in out:
                first = out[name][0].start_mark.line + 1
                raise self.error(key, f"{name!r} is given twice in {what} (first on line {first})")
            out[name] = (key, value)
        return out

    def scalar(self, node: yaml.Node) -> object:
        if not isinstance(node, yaml.ScalarNode):
            raise self.error(node, "expected a single value")
        value: object = yaml.SafeLoader("").construct_object(node)
        return value

    def string(self, node: yaml.Node, what: str) -> str:
        if not isinstance(node, yaml.ScalarNode) or node.tag != _STR or not node.value:
            raise self.error(node, f"{what} must be a non-empty string")
        return str(node.value)

    def string_list(self, node: yaml.Node, what: str) -> list[tuple[yaml.Node, str]]:
        if isinstance(node, yaml.ScalarNode) and node.tag.endswith(":null"):
            return []
        if not isinstance(node, yaml.SequenceNode):
            raise self.error(node, f"{what} must be a list")
        return [(item, self.string(item, f"each entry of {what}")) for item in node.value]

    def strings(self, keys: Mapping[str, tuple[yaml.Node, yaml.Node]], name: str) -> list[str]:
        if name not in keys:
            return []
        return [text for _, text in self.string_list(keys[name][1], name)]


class _Accumulator:
    """Collects sections from files and profiles in order; `build()` freezes them."""

    def __init__(self) -> None:
        self.trusted: list[TrustedPath] = []
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
        self.credentials: dict[str, BoundCredential] = {}

    def add(
        self, r: _Reader, keys: Mapping[str, tuple[yaml.Node, yaml.Node]], home: Path | None
    ) -> None:
        if "trusted" in keys:
            self._trusted(r, keys["trusted"][1])
        for name, target in (("deny", self.deny), ("scratch", self.scratch)):
            for node, text in r.string_list(keys[name][1], name) if name in keys else []:
                _check_host_pattern(r, node, text, name)
                target.append(text)
        for name, target in (("protected", self.protected), ("memory", self.memory)):
            for node, text in r.string_list(keys[name][1], name) if name in keys else []:
                _check_workspace_pattern(r, node, text, name)
                target.append(text)
        if "env" in keys:
            self._env(r, keys["env"][1])
        if "network" in keys:
            self._network(r, keys["network"][1], home)
        if "credentials" in keys:
            self._credentials(r, keys["credentials"][1])

    def _trusted(self, r: _Reader, node: yaml.Node) -> None:
        if isinstance(node, yaml.ScalarNode) and node.tag.endswith(":null"):
            return
        if not isinstance(node, yaml.SequenceNode):
            raise r.error(node, "trusted must be a list of paths or {path, mode} entries")
        for item in node.value:
            if isinstance(item, yaml.ScalarNode):
                entry = TrustedPath(r.string(item, "a trusted path"))
            else:
                fields = r.mapping(item, _TRUSTED_KEYS, "a trusted entry")
                if "path" not in fields:
                    raise r.error(item, "a trusted entry needs a 'path'")
                mode = "ro"
                if "mode" in fields:
                    mode = r.string(fields["mode"][1], "mode")
                    if mode not in ("ro", "rw"):
                        raise r.error(fields["mode"][1], f"mode must be 'ro' or 'rw', not {mode!r}")
                create = False
                if "create" in fields:
                    value = r.scalar(fields["create"][1])
                    if not isinstance(value, bool):
                        raise r.error(fields["create"][1], "create must be true or false")
                    create = value
                entry = TrustedPath(
                    r.string(fields["path"][1], "path"), "rw" if mode == "rw" else "ro", create
                )
            _check_host_pattern(r, item, entry.pattern, "a trusted path")
            if entry.pattern.rstrip("/") in ("~", "") or entry.pattern == "/":
                raise r.error(
                    item,
                    f"trusting {entry.pattern!r} would show everything; "
                    "name the folders the agent needs",
                )
            if entry.create and (entry.mode != "rw" or "*" in entry.pattern):
                raise r.error(item, "create is only for a read-write folder without wildcards")
            self.trusted.append(entry)

    def _env(self, r: _Reader, node: yaml.Node) -> None:
        keys = r.mapping(node, _ENV_KEYS, "env")
        self.env_pass += r.strings(keys, "pass")
        self.env_block += r.strings(keys, "block")
        if "set" in keys:
            for name, (key, value) in r.mapping(keys["set"][1], None, "env.set").items():
                if not isinstance(value, yaml.ScalarNode) or value.tag != _STR:
                    raise r.error(value, f"env.set {name!r} must be a string (quote it)")
                del key
                self.env_set[name] = str(value.value)

    def _network(self, r: _Reader, node: yaml.Node, home: Path | None) -> None:
        keys = r.mapping(node, _NETWORK_KEYS, "network")
        self.allow += r.strings(keys, "allow")
        self.net_deny += r.strings(keys, "deny")
        if "resolve" in keys:
            for name, (_, value) in r.mapping(keys["resolve"][1], None, "network.resolve").items():
                self.resolve[name] = r.string(value, f"network.resolve {name!r}")
        if "upstream_ca" in keys:
            text = r.string(keys["upstream_ca"][1], "network.upstream_ca")
            if text.startswith("~") and home is not None:
                text = str(home) + text[1:]
            self.upstream_ca = Path(text).expanduser()
        if "ask_timeout" in keys:
            timeout = r.scalar(keys["ask_timeout"][1])
            if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
                raise r.error(
                    keys["ask_timeout"][1], "ask_timeout must be a positive number of seconds"
                )
            self.ask_timeout = float(timeout)

    def _credentials(self, r: _Reader, node: yaml.Node) -> None:
        if not isinstance(node, yaml.SequenceNode):
            raise r.error(node, "credentials must be a list")
        for item in node.value:
            fields = r.mapping(item, _CREDENTIAL_KEYS, "a credential")
            missing = [k for k in sorted(_CREDENTIAL_KEYS) if k not in fields]
            if missing:
                raise r.error(item, f"a credential needs {', '.join(missing)}")
            values = {k: r.string(fields[k][1], k) for k in _CREDENTIAL_KEYS}
            if values["name"] in self.credentials:
                raise r.error(item, f"credential {values['name']!r} is bound twice")
            self.credentials[values["name"]] = BoundCredential(**values)

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
            ),
            credentials=tuple(self.credentials.values()),
            sources=sources,
            profiles=names,
            scratch=_unique(self.scratch),
        )


def _check_host_pattern(r: _Reader, node: yaml.Node, text: str, what: str) -> None:
    if not (text == "~" or text.startswith(("~/", "/"))):
        raise r.error(node, f"{what} {text!r} must start with ~/ or /")
    if ".." in text.split("/"):
        raise r.error(node, f"{what} {text!r} must not contain '..'")


def _check_workspace_pattern(r: _Reader, node: yaml.Node, text: str, what: str) -> None:
    if text.startswith("/"):
        raise r.error(node, f"{what} {text!r} must be relative to the workspace (or start with ~/)")
    if ".." in text.split("/"):
        raise r.error(node, f"{what} {text!r} must not contain '..'")


def _unique(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


def _unique_trusted(items: Iterable[TrustedPath]) -> list[TrustedPath]:
    # A later entry for the same path wins (a user file may turn ro into rw or back).
    by_path: dict[str, TrustedPath] = {}
    for item in items:
        by_path.pop(item.pattern, None)
        by_path[item.pattern] = item
    return list(by_path.values())
