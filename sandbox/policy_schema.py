"""One policy file read and checked: YAML with line marks, against the policy schema.

`PolicyReader` composes a file's YAML node tree (never constructing arbitrary objects)
so every value keeps its line, and turns every problem into a `PolicyError` naming
`file:line: problem`. `read_sections` checks one mapping of sections (a file's top level,
one profile, a workspace file) and returns what it says; how the files add up is
sandbox/policy.py's business.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeAlias

import yaml

from sandbox.patterns import has_magic, literal_prefix
from sandbox.policy_model import BoundCredential, Login, TrustedPath
from sandbox.proxy.rules import DomainRule, RuleError, parse_address, parse_rule

_SECTIONS = (
    "trusted", "expose", "scratch", "deny", "protected", "memory", "env", "network",
    "credentials", "logins",
)  # fmt: skip
TOP_KEYS = frozenset({"version", "profiles", *_SECTIONS})
PROFILE_KEYS = frozenset({"description", "commands", *_SECTIONS})
_ENV_KEYS = frozenset({"pass", "block", "set"})
_NETWORK_KEYS = frozenset({"allow", "deny", "resolve", "upstream_ca", "ask_timeout", "fetch"})
_CREDENTIAL_KEYS = frozenset({"name", "domain", "header", "env"})
_TRUSTED_KEYS = frozenset({"path", "mode", "create"})
_LOGIN_KEYS = frozenset({"vendor", "api", "header", "env", "domains", "files"})
_LOGIN_NEEDS = ("vendor", "api", "header", "env")
_STR = "tag:yaml.org,2002:str"

# A mapping's entries by name: (key node, value node), so problems can name a line.
Keys: TypeAlias = Mapping[str, tuple[yaml.Node, yaml.Node]]


class PolicyError(ValueError):
    """A policy file that cannot be used: `file:line: problem`."""

    def __init__(self, file: Path | str, line: int | None, problem: str) -> None:
        self.file = Path(file)
        self.line = line
        self.problem = problem
        where = f"{file}:{line}" if line is not None else f"{file}"
        super().__init__(f"{where}: {problem}")


class PolicyReader:
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

    def strings(self, keys: Keys, name: str) -> list[str]:
        if name not in keys:
            return []
        return [text for _, text in self.string_list(keys[name][1], name)]


def check_version(reader: PolicyReader, keys: Keys) -> None:
    """Refuse a `version` other than 1 (a file written for another Sandgate)."""
    if "version" in keys:
        node = keys["version"][1]
        if reader.scalar(node) != 1:
            raise reader.error(node, "unsupported policy version (this Sandgate reads version 1)")


@dataclass
class Sections:
    """What one mapping of sections says, checked but not merged with any other.
    `upstream_ca`, `ask_timeout` and `fetch` are None when not given."""

    trusted: list[TrustedPath] = field(default_factory=list)
    expose: list[str] = field(default_factory=list)
    deny: list[str] = field(default_factory=list)
    protected: list[str] = field(default_factory=list)
    memory: list[str] = field(default_factory=list)
    scratch: list[str] = field(default_factory=list)
    env_pass: list[str] = field(default_factory=list)
    env_block: list[str] = field(default_factory=list)
    env_set: dict[str, str] = field(default_factory=dict)
    allow: list[str] = field(default_factory=list)
    net_deny: list[str] = field(default_factory=list)
    resolve: dict[str, str] = field(default_factory=dict)
    upstream_ca: Path | None = None
    ask_timeout: float | None = None
    fetch: list[str] | None = None
    credentials: list[BoundCredential] = field(default_factory=list)
    logins: list[Login] = field(default_factory=list)
    # Where each path entry was written ("trusted ~/x" -> "FILE line N"), so the
    # sandbox's choices can be explained (sandbox/explain.py).
    origins: dict[str, str] = field(default_factory=dict)


def read_sections(
    r: PolicyReader, keys: Keys, home: Path | None, bound: Collection[str] = ()
) -> Sections:
    """Check the sections in `keys` and return what they say. `home` replaces a leading
    `~` in `network.upstream_ca`; `bound` names the credentials bound before this
    mapping (by earlier files), since a name may be bound only once. Raises PolicyError.
    """
    out = Sections()

    def mark(section: str, text: str, node: yaml.Node) -> None:
        out.origins.setdefault(f"{section} {text}", f"{r.file} line {node.start_mark.line + 1}")

    if "trusted" in keys:
        _trusted(r, keys["trusted"][1], out)
    for node, text in r.string_list(keys["expose"][1], "expose") if "expose" in keys else []:
        _check_host_pattern(r, node, text, "an exposed credential")
        if has_magic(text):
            raise r.error(
                node, f"expose names one file by its exact path, not a pattern ({text!r})"
            )
        out.expose.append(text)
        mark("expose", text, node)
    for name, target in (("deny", out.deny), ("scratch", out.scratch)):
        for node, text in r.string_list(keys[name][1], name) if name in keys else []:
            _check_host_pattern(r, node, text, name)
            target.append(text)
            mark(name, text, node)
    for name, target in (("protected", out.protected), ("memory", out.memory)):
        for node, text in r.string_list(keys[name][1], name) if name in keys else []:
            _check_workspace_pattern(r, node, text, name)
            target.append(text)
            mark(name, text, node)
    if "env" in keys:
        _env(r, keys["env"][1], out)
    if "network" in keys:
        _network(r, keys["network"][1], home, out)
    if "credentials" in keys:
        _credentials(r, keys["credentials"][1], bound, out)
    if "logins" in keys:
        _logins(r, keys["logins"][1], out)
    return out


def _trusted(r: PolicyReader, node: yaml.Node, out: Sections) -> None:
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
        fixed = _fixed_folder(entry.pattern)
        if fixed in ("/", "~"):
            whole = "the whole disk" if fixed == "/" else "your whole home folder"
            raise r.error(
                item,
                f"trusting {entry.pattern!r} reaches into {whole} (its fixed part is "
                f"{fixed!r}); name the folders the agent needs",
            )
        if entry.create and (entry.mode != "rw" or "*" in entry.pattern):
            raise r.error(item, "create is only for a read-write folder without wildcards")
        out.trusted.append(entry)
        out.origins[f"trusted {entry.pattern}"] = f"{r.file} line {item.start_mark.line + 1}"


def _env(r: PolicyReader, node: yaml.Node, out: Sections) -> None:
    keys = r.mapping(node, _ENV_KEYS, "env")
    out.env_pass += r.strings(keys, "pass")
    out.env_block += r.strings(keys, "block")
    if "set" in keys:
        for name, (key, value) in r.mapping(keys["set"][1], None, "env.set").items():
            if not isinstance(value, yaml.ScalarNode) or value.tag != _STR:
                raise r.error(value, f"env.set {name!r} must be a string (quote it)")
            del key
            out.env_set[name] = str(value.value)


def _network(r: PolicyReader, node: yaml.Node, home: Path | None, out: Sections) -> None:
    keys = r.mapping(node, _NETWORK_KEYS, "network")
    # Checked here with the proxy's own parser, so `policy check` and a session judge a
    # rule the same way, and a bad one is named with its line before any session.
    for name, target in (("allow", out.allow), ("deny", out.net_deny)):
        for item, text in r.string_list(keys[name][1], f"network.{name}") if name in keys else []:
            try:
                parse_rule(text)
            except RuleError as exc:
                raise r.error(
                    item,
                    f"network.{name}: {exc} (write a name such as "
                    "'pypi.org', '*.example.com', 'host:443' or an address)",
                ) from None
            target.append(text)
    if "fetch" in keys:
        out.fetch = []
        for item, text in r.string_list(keys["fetch"][1], "network.fetch"):
            try:
                rule = parse_rule(text)
            except RuleError as exc:
                raise r.error(item, f"network.fetch: {exc}") from None
            if not isinstance(rule, DomainRule) or rule.domain == "*":
                raise r.error(
                    item,
                    f"network.fetch: {text!r} must be a domain name such as 'pypi.org' or "
                    "'*.example.org' (reads are allowed by name, never by address or for all)",
                )
            out.fetch.append(text)
    if "resolve" in keys:
        for name, (_, value) in r.mapping(keys["resolve"][1], None, "network.resolve").items():
            address = r.string(value, f"network.resolve {name!r}")
            if parse_address(address) is None:
                raise r.error(value, f"network.resolve {name!r}: {address!r} is not an address")
            out.resolve[name] = address
    if "upstream_ca" in keys:
        text = r.string(keys["upstream_ca"][1], "network.upstream_ca")
        if text.startswith("~") and home is not None:
            text = str(home) + text[1:]
        out.upstream_ca = Path(text).expanduser()
    if "ask_timeout" in keys:
        timeout = r.scalar(keys["ask_timeout"][1])
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
            raise r.error(
                keys["ask_timeout"][1], "ask_timeout must be a positive number of seconds"
            )
        out.ask_timeout = float(timeout)


def _credentials(r: PolicyReader, node: yaml.Node, bound: Collection[str], out: Sections) -> None:
    if not isinstance(node, yaml.SequenceNode):
        raise r.error(node, "credentials must be a list")
    for item in node.value:
        fields = r.mapping(item, _CREDENTIAL_KEYS, "a credential")
        missing = [k for k in sorted(_CREDENTIAL_KEYS) if k not in fields]
        if missing:
            raise r.error(item, f"a credential needs {', '.join(missing)}")
        values = {k: r.string(fields[k][1], k) for k in _CREDENTIAL_KEYS}
        if values["name"] in bound or any(c.name == values["name"] for c in out.credentials):
            raise r.error(item, f"credential {values['name']!r} is bound twice")
        out.credentials.append(BoundCredential(**values))


def _fixed_folder(pattern: str) -> str:
    """The folder a trusted pattern is anchored in, normalised: what it shows at the
    least. `/r*` is anchored in `/`, `~/./*` in `~`."""
    fixed = literal_prefix(pattern) if has_magic(pattern) else pattern
    parts = [p for p in fixed.split("/") if p not in ("", ".")]
    if fixed.startswith("~"):
        parts = parts[1:] if parts and parts[0] == "~" else parts
        return "~" + "".join("/" + p for p in parts)
    return "/" + "/".join(parts)


def _logins(r: PolicyReader, node: yaml.Node, out: Sections) -> None:
    if not isinstance(node, yaml.SequenceNode):
        raise r.error(node, "logins must be a list")
    for item in node.value:
        fields = r.mapping(item, _LOGIN_KEYS, "a login")
        missing = [k for k in _LOGIN_NEEDS if k not in fields]
        if missing:
            raise r.error(item, f"a login needs {', '.join(missing)}")
        values = {k: r.string(fields[k][1], k) for k in _LOGIN_NEEDS}
        domains = r.strings(fields, "domains")
        for domain in (values["api"], *domains):
            if "*" in domain or "/" in domain or ":" in domain:
                raise r.error(item, f"login domain {domain!r} must be a plain host name")
        files = []
        listed = r.string_list(fields["files"][1], "files") if "files" in fields else []
        for file_node, text in listed:
            _check_host_pattern(r, file_node, text, "a login file")
            files.append(text)
        out.logins.append(
            Login(
                values["vendor"],
                values["api"].lower(),
                values["header"],
                values["env"],
                tuple(d.lower() for d in domains),
                tuple(files),
            )
        )


def _check_host_pattern(r: PolicyReader, node: yaml.Node, text: str, what: str) -> None:
    if not (text == "~" or text.startswith(("~/", "/"))):
        raise r.error(node, f"{what} {text!r} must start with ~/ or /")
    if ".." in text.split("/"):
        raise r.error(node, f"{what} {text!r} must not contain '..'")


def _check_workspace_pattern(r: PolicyReader, node: yaml.Node, text: str, what: str) -> None:
    if text.startswith("/"):
        raise r.error(node, f"{what} {text!r} must be relative to the workspace (or start with ~/)")
    if ".." in text.split("/"):
        raise r.error(node, f"{what} {text!r} must not contain '..'")
