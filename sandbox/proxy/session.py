"""One session as the proxy sees it: its rules, secrets, canaries and the service's callbacks."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from sandbox.proxy.budget import BodyBudget
from sandbox.proxy.inspect import canary_patterns
from sandbox.proxy.logins import LoginTokens
from sandbox.proxy.rules import IPAddress, Rules, normalise_host, resolve_map

Event = dict[str, Any]
# Bytes of bodies one session's connections and streams may hold in the proxy at once.
DEFAULT_BUDGET = 256 << 20


class NotRecorded(Exception):
    """Raised by the service's `on_event` (or `ask`) when it could not record the event:
    what the event describes must not go out. Its text is the reason a person reads."""


@dataclass(frozen=True)
class Outcome:
    """What happened to one request or tunnel, and who or what decided it.

    `by` is one of: `policy` (a rule, named in `rule`, or a built-in refusal such as a
    private address), `canary`, `credential`, `person`, `remembered` (an earlier decision
    with a scope), `timeout`, `closed` (the session ended while the request waited),
    `recording` (allowed, but refused because the service could not record it).
    """

    action: Literal["allow", "deny"]
    by: str
    reason: str
    rule: str | None = None
    critical: bool = False
    scope: str | None = None  # the scope of a person's (or remembered) decision
    batch: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "by": self.by,
            "reason": self.reason,
            "rule": self.rule,
            "critical": self.critical,
            "scope": self.scope,
            "batch": self.batch,
        }


@dataclass(frozen=True)
class Answer:
    """The service's reply to `ask`: allowed or not, who decided, and why."""

    allow: bool
    by: str = "person"
    reason: str = ""
    scope: str | None = None  # once / session / workspace / always, for a person's decision
    batch: str | None = None


# The service's callbacks: every decided event goes to `on_event`; unknown destinations
# go to `ask` first, which resolves when a person (or a remembered rule, or the
# timeout) decides.
OnEvent = Callable[[Event, Outcome], Awaitable[None] | None]
Ask = Callable[[Event], Awaitable[Answer]]


@dataclass(frozen=True)
class SecretBinding:
    """A credential bound to a domain: the real secret stays in the proxy."""

    name: str
    domain: str
    header: str
    env: str
    secret: str | None  # None: not in the keyring, so every request to the domain is refused
    placeholder: str = field(default_factory=lambda: "sandgate-" + secrets.token_urlsafe(24))


@dataclass
class SessionNet:
    """The proxy-side state of one session (built by `EgressProxy.open_session`)."""

    id: str
    rules: Rules
    resolve: dict[str, IPAddress]
    ask_timeout: float
    bindings: dict[str, SecretBinding]
    canaries: dict[str, set[bytes]]
    on_event: OnEvent
    ask: Ask
    canary_source: Callable[[], Sequence[str]] | None = None
    logins: LoginTokens = field(default_factory=LoginTokens)
    closed: asyncio.Event = field(default_factory=asyncio.Event)
    waiting: int = 0  # requests held for an answer right now
    budget: BodyBudget = field(default_factory=lambda: BodyBudget(DEFAULT_BUDGET))
    # Why this session gets no network now (the service cannot record it), or None.
    halted: str | None = None

    def inspected(self, host: str) -> bool:
        """Must requests to `host` be seen (never an opaque tunnel)? Bound to a credential,
        or an endpoint of the agent's own vendor (tokens are swapped there)."""
        return host in self.bindings or self.logins.vendor_at(host) is not None

    def canary_forms(self) -> dict[str, set[bytes]]:
        """Canary → its encoded forms; canaries from `canary_source` join as they appear
        (the decoys that carry them are written after the proxy session opens)."""
        if self.canary_source is not None:
            for canary in self.canary_source():
                if canary and canary not in self.canaries:
                    self.canaries[canary] = canary_patterns(canary)
        return self.canaries

    @classmethod
    def build(
        cls,
        session_id: str,
        allow: Sequence[str],
        deny: Sequence[str],
        resolve: Mapping[str, str],
        ask_timeout: float,
        bindings: Sequence[SecretBinding],
        canaries: Sequence[str] | Callable[[], Sequence[str]],
        on_event: OnEvent,
        ask: Ask,
        logins: LoginTokens | None = None,
        budget: int = DEFAULT_BUDGET,
    ) -> SessionNet:
        """Compile the policy strings; raises `rules.RuleError` on a bad one."""
        return cls(
            id=session_id,
            rules=Rules.compile(allow, deny),
            resolve=resolve_map(resolve),
            ask_timeout=ask_timeout,
            bindings={normalise_host(b.domain): b for b in bindings},
            canaries={} if callable(canaries) else {c: canary_patterns(c) for c in canaries if c},
            on_event=on_event,
            ask=ask,
            canary_source=canaries if callable(canaries) else None,
            logins=logins if logins is not None else LoginTokens(),
            budget=BodyBudget(budget),
        )
