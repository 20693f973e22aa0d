"""What the network section of a policy means: allow, deny or ask, for one destination.

Pure: the caller resolves names (through `resolve_map` first, like curl's `--resolve`)
and passes the addresses in. Nothing here touches the network or the clock.

Rule strings, as written in the policy:

- `pypi.org` — exactly that name, any port.
- `*.github.com` — any name below `github.com`, but neither `github.com` itself nor
  `evilgithub.com`.
- `registry.npmjs.org:443` — that name on that port only.
- `*` — any name (never an address: names still cannot reach private addresses).
- `127.0.0.1:8080`, `10.0.0.0/8`, `[::1]:8080`, `fd00::/8` — address rules. They allow
  a request made to that address itself, and they are the only way to reach loopback,
  private, link-local, metadata and other special addresses: a name that resolves to
  such an address is refused unless an address rule covers every address it resolved
  to. For a name, the address rule only lifts that refusal; whether the name is
  allowed is still up to the name rules (so `api.test` resolving to 127.0.0.1 needs
  both `api.test` and `127.0.0.1:PORT`).

Deny rules win over allow rules; anything no rule names is asked about.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Action = Literal["allow", "deny", "ask"]

# Cloud metadata endpoints live in link-local space on most clouds; named here so the
# refusal says what they are.
_METADATA = (
    ipaddress.ip_network("169.254.169.254/32"),
    ipaddress.ip_network("169.254.170.2/32"),
    ipaddress.ip_network("fd00:ec2::254/128"),
    ipaddress.ip_network("100.100.100.200/32"),
)
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_LABEL = re.compile(r"^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$")


class RuleError(ValueError):
    """A rule string that cannot be understood."""


@dataclass(frozen=True)
class DomainRule:
    """A name rule: exact, or `*.` for strictly below a domain; port None means any."""

    text: str
    domain: str
    wildcard: bool
    port: int | None

    def matches(self, host: str, port: int) -> bool:
        if self.port is not None and self.port != port:
            return False
        if self.domain == "*":
            return True
        if self.wildcard:
            return host.endswith("." + self.domain)
        return host == self.domain


@dataclass(frozen=True)
class AddressRule:
    """An address or network, with an optional port."""

    text: str
    network: IPNetwork
    port: int | None

    def matches(self, address: IPAddress, port: int) -> bool:
        if self.port is not None and self.port != port:
            return False
        return address.version == self.network.version and address in self.network


Rule = DomainRule | AddressRule


@dataclass(frozen=True)
class Decision:
    """The policy's answer for one destination, with the rule and a sentence for people."""

    action: Action
    rule: str | None
    reason: str


def normalise_host(host: str) -> str:
    """Lower-case, without a trailing dot or IPv6 brackets."""
    host = host.strip().lower().rstrip(".")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host


def parse_address(host: str) -> IPAddress | None:
    """The address if `host` is an IP literal, else None."""
    try:
        return ipaddress.ip_address(normalise_host(host))
    except ValueError:
        return None


def special_kind(address: IPAddress) -> str | None:
    """Why an address is off-limits to names ("loopback", "private", …), or None if public."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return special_kind(address.ipv4_mapped)
    if any(address in net for net in _METADATA if net.version == address.version):
        return "cloud metadata"
    if address.is_loopback:
        return "loopback"
    if address.is_link_local:
        return "link-local"
    if address.is_unspecified:
        return "unspecified"
    if address.is_multicast:
        return "multicast"
    if isinstance(address, ipaddress.IPv4Address) and address in _CGNAT:
        return "shared (CGNAT)"
    if address.is_private:
        return "private"
    if address.is_reserved:
        return "reserved"
    return None


def _split_port(text: str) -> tuple[str, int | None]:
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            raise RuleError(f"{text!r}: unclosed '['")
        host, rest = text[1:end], text[end + 1 :]
        if not rest:
            return host, None
        if not rest.startswith(":"):
            raise RuleError(f"{text!r}: expected ':PORT' after ']'")
        return host, _port(text, rest[1:])
    if text.count(":") == 1:
        host, port = text.split(":")
        return host, _port(text, port)
    return text, None  # a bare name, or a bare IPv6 address/network


def _port(text: str, port: str) -> int:
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise RuleError(f"{text!r}: port must be 1-65535")
    return int(port)


def parse_rule(text: str) -> Rule:
    """Parse one rule string; raises RuleError with the reason if it is not valid."""
    raw = text.strip()
    if not raw:
        raise RuleError("empty rule")
    host, port = _split_port(raw)
    host = normalise_host(host)
    try:
        network = ipaddress.ip_network(host, strict=False)
    except ValueError:
        pass
    else:
        return AddressRule(text=raw, network=network, port=port)
    if host == "*":
        return DomainRule(text=raw, domain="*", wildcard=True, port=port)
    wildcard = host.startswith("*.")
    domain = host[2:] if wildcard else host
    labels = domain.split(".")
    if not all(_LABEL.match(label) for label in labels):
        raise RuleError(f"{text!r}: not a domain name, address or network")
    if wildcard and len(labels) < 2:
        raise RuleError(f"{text!r}: a wildcard needs at least two labels after '*.'")
    return DomainRule(text=raw, domain=domain, wildcard=wildcard, port=port)


@dataclass(frozen=True)
class Rules:
    """The compiled allow and deny lists of one session."""

    allow: tuple[Rule, ...]
    deny: tuple[Rule, ...]

    @classmethod
    def compile(cls, allow: Iterable[str], deny: Iterable[str]) -> Rules:
        """Parse both lists; the first invalid rule raises RuleError."""
        return cls(
            allow=tuple(parse_rule(r) for r in allow), deny=tuple(parse_rule(r) for r in deny)
        )

    def decide(self, host: str, port: int, addresses: Sequence[IPAddress]) -> Decision:
        """Allow, deny or ask for `host:port`, which resolved to `addresses`.

        `addresses` empty means the name did not resolve: that is refused, since there
        is nowhere to connect to and asking would only waste a person's attention.
        """
        name = normalise_host(host)
        literal = parse_address(name)
        if literal is not None:
            addresses = [literal]
        if not addresses:
            return Decision("deny", None, f"{name} does not resolve to any address")

        for rule in self.deny:
            if literal is None and isinstance(rule, DomainRule) and rule.matches(name, port):
                return Decision("deny", rule.text, f"denied by rule {rule.text!r}")
            if isinstance(rule, AddressRule):
                for address in addresses:
                    if rule.matches(address, port):
                        return Decision(
                            "deny", rule.text, f"{address} is denied by rule {rule.text!r}"
                        )

        address_rules = [r for r in self.allow if isinstance(r, AddressRule)]

        def address_rule_for(address: IPAddress) -> AddressRule | None:
            return next((r for r in address_rules if r.matches(address, port)), None)

        for address in addresses:
            kind = special_kind(address)
            if kind is not None and address_rule_for(address) is None:
                via = "" if literal is not None else f"{name} resolves to "
                return Decision(
                    "deny",
                    None,
                    f"{via}{address}, a {kind} address; only an address rule can allow it",
                )

        if literal is not None:
            by_address = address_rule_for(literal)
            if by_address is not None:
                return Decision("allow", by_address.text, f"allowed by rule {by_address.text!r}")
        else:
            for candidate in self.allow:
                if isinstance(candidate, DomainRule) and candidate.matches(name, port):
                    return Decision("allow", candidate.text, f"allowed by rule {candidate.text!r}")
        return Decision("ask", None, f"no rule names {name}:{port}")


def resolve_map(resolve: Mapping[str, str]) -> dict[str, IPAddress]:
    """Compile the policy's `resolve` section; raises RuleError on a bad address."""
    compiled: dict[str, IPAddress] = {}
    for name, address in resolve.items():
        parsed = parse_address(address)
        if parsed is None:
            raise RuleError(f"resolve: {name!r} maps to {address!r}, which is not an address")
        compiled[normalise_host(name)] = parsed
    return compiled
