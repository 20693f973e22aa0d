"""The effective policy as frozen data: `Policy` and the records of its sections.

Nothing here reads a file or checks one (sandbox/policy_schema.py does); the records
only hold what the merged files said, in the shape the sandbox and the proxy read.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

Mode = Literal["ro", "rw"]


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
    # Destinations where a request that only reads (GET or HEAD, no body) and that triage
    # ranks low is allowed without asking: package registries (see default.yaml).
    fetch: tuple[str, ...] = ()


@dataclass(frozen=True)
class BoundCredential:
    """A keyring credential the proxy swaps in on one domain; the agent gets a placeholder."""

    name: str
    domain: str
    header: str
    env: str


@dataclass(frozen=True)
class Login:
    """An agent's own login, bound to its vendor (the profile's `logins` section).

    `vendor` names it (and its keyring entry: `sandgate credential add VENDOR`); `api` is
    where an API key goes, in `header`; the key comes from the keyring or from the
    caller's `env` variable, and the agent only ever holds a placeholder for it. `files`
    are the agent's own login files (OAuth tokens): shown with every token replaced by a
    placeholder. `domains` are the vendor's other endpoints. The tokens may reach `api`
    and `domains` and nowhere else; with a token bound, those are allowed unasked.
    """

    vendor: str
    api: str
    header: str
    env: str
    domains: tuple[str, ...] = ()
    files: tuple[str, ...] = ()

    @property
    def endpoints(self) -> tuple[str, ...]:
        """Every domain the login's tokens may reach: `api`, then `domains`."""
        return (self.api, *(d for d in self.domains if d != self.api))


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
    # Credential files shown as they are instead of a decoy: an explicit choice, never a
    # side effect of trusting a path (sandbox/filesystem.py).
    expose: tuple[str, ...] = ()
    logins: tuple[Login, ...] = ()
    # "SECTION PATTERN" -> "FILE line N": where a trusted, expose, scratch, deny,
    # protected or memory entry was written (what sandbox/explain.py names).
    origins: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    def to_dict(self) -> dict[str, Any]:
        """Plain data in the shape of a policy file (what `sandgate policy check` prints)."""
        return {
            "profile": self.profile,
            "sources": [str(s) for s in self.sources],
            "trusted": [
                {"path": t.pattern, "mode": t.mode, **({"create": True} if t.create else {})}
                for t in self.trusted
            ],
            "expose": list(self.expose),
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
                "fetch": list(self.network.fetch),
            },
            "credentials": [
                {"name": c.name, "domain": c.domain, "header": c.header, "env": c.env}
                for c in self.credentials
            ],
            "logins": [
                {
                    "vendor": x.vendor,
                    "api": x.api,
                    "header": x.header,
                    "env": x.env,
                    "domains": list(x.domains),
                    "files": list(x.files),
                }
                for x in self.logins
            ],
        }
