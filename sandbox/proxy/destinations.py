"""What the rules say about a destination: its name resolved, decided at the addresses it
resolves to, with the names a request carries besides (domain fronting) judged too."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Sequence

from mitmproxy import http

from sandbox.proxy.login_checks import vendor_decision
from sandbox.proxy.rules import Decision, IPAddress, normalise_host, parse_address
from sandbox.proxy.session import Outcome, SessionNet

RESOLVE_TIMEOUT = 5.0

Destination = tuple[Decision, IPAddress | None]


async def decide_destination(session: SessionNet, host: str, port: int) -> Destination:
    """The rules' decision on `host:port`, and the checked address to connect to; a
    refusal for every destination while the session is halted (it cannot be recorded)."""
    if session.halted is not None:
        return Decision("deny", None, session.halted), None
    addresses = await _resolve(session, host, port)
    decision = session.rules.decide(host, port, addresses)
    if decision.action == "ask" and host in session.bindings:
        binding = session.bindings[host]
        decision = Decision(
            "allow", f"credential:{binding.name}", f"bound to credential {binding.name!r}"
        )
    decision = vendor_decision(session, host, decision)
    # Connect to an IPv4 address first when there is one: the sandbox's host may
    # lack IPv6 routes, and the choice must be one of the checked addresses.
    ordered = sorted(addresses, key=lambda a: a.version)
    return decision, (ordered[0] if ordered else None)


async def _resolve(session: SessionNet, host: str, port: int) -> Sequence[IPAddress]:
    literal = parse_address(host)
    if literal is not None:
        return [literal]
    if host in session.resolve:
        return [session.resolve[host]]
    loop = asyncio.get_running_loop()
    try:
        infos = await asyncio.wait_for(
            loop.getaddrinfo(host, port, type=socket.SOCK_STREAM), RESOLVE_TIMEOUT
        )
    except (TimeoutError, OSError, UnicodeError):
        return []
    found: list[IPAddress] = []
    for info in infos:
        address = parse_address(str(info[4][0]).split("%")[0])
        if address is not None and address not in found:
            found.append(address)
    return found


def fronting(
    session: SessionNet,
    flow: http.HTTPFlow,
    host: str,
    port: int,
    decision: Decision,
    address: IPAddress | None,
) -> Decision:
    """Domain fronting: the connection goes to `host`, but the Host header (or the TLS
    SNI) names another host, which a shared front end (a CDN) would route to. Each name
    the request carries must pass the rules on its own, at the address actually reached;
    the strictest answer wins."""
    names = {flow.request.host_header or "", flow.client_conn.sni or ""}
    rank = {"allow": 0, "ask": 1, "deny": 2}
    for raw in names:
        other = normalise_host(_strip_port(raw))
        if not other or other == host or parse_address(other) is not None:
            continue
        if other in session.bindings and other != host:
            extra = Decision("deny", None, "a bound domain reached through another host")
        else:
            extra = session.rules.decide(other, port, [address] if address else [])
        if rank[extra.action] > rank[decision.action]:
            decision = Decision(
                extra.action, extra.rule, f"the request names {other}: {extra.reason}"
            )
    return decision


def _strip_port(authority: str) -> str:
    if authority.startswith("["):
        return authority.split("]")[0] + "]"
    return authority.rsplit(":", 1)[0] if authority.count(":") == 1 else authority


def policy_outcome(decision: Decision) -> Outcome:
    """The outcome of a rule's allow or deny (an `ask` is decided by someone else)."""
    if decision.action == "allow":
        return Outcome("allow", "policy", decision.reason, rule=decision.rule)
    return Outcome("deny", "policy", decision.reason, rule=decision.rule)
