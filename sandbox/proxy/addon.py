"""The mitmproxy addon that is Sandgate's egress policy.

mitmproxy parses; this decides. Every outbound connection passes `server_connect`,
which lets through only a destination this client connection has been cleared for,
to the very address that was checked (so a name cannot re-resolve elsewhere between
the check and the connect). Clearance comes from:

- `http_connect`: a CONNECT to an allowed destination becomes an opaque tunnel (TLS
  passed through untouched); an unknown or credential-bound one is accepted and its TLS
  intercepted so that each request inside is decided on its own in `request`. A denied
  one is intercepted too, so that the client hears the refusal as an HTTP 403 with
  Sandgate's reason: a failed CONNECT reaches most clients only as a closed socket
  (Claude Code says `ERR_SOCKET_CLOSED`), and the reason is lost.
- `request`: a visible request (plain HTTP, or inside an intercepted tunnel) is checked
  for canaries and foreign credentials, then allowed, denied, or held while the service
  asks a person.
"""

from __future__ import annotations

import asyncio
import base64
import inspect
import logging
import socket
import time
import uuid
from collections.abc import Sequence

from mitmproxy import http
from mitmproxy.connection import Client
from mitmproxy.proxy import layer, server_hooks
from mitmproxy.tls import ClientHelloData, TlsData

from sandbox.proxy.inspect import MISSING_PREFIX, RequestView, find_canary, foreign_credential
from sandbox.proxy.limits import limit_http
from sandbox.proxy.login_checks import check_login, keep_whole, swap_response, vendor_decision
from sandbox.proxy.rules import Decision, IPAddress, normalise_host, parse_address
from sandbox.proxy.session import Answer, Event, Outcome, SessionNet

logger = logging.getLogger(__name__)

EVENT_BODY_LIMIT = 64 * 1024
REASON_HEADER = "X-Sandgate-Reason"
RESOLVE_TIMEOUT = 5.0
STREAM_ABOVE = 256 * 1024
# Protocols where the server speaks first (ssh, ftp, smtp, pop, imap, mysql, vnc, …):
# a client tunnelling one through CONNECT sends nothing until it hears the server, so a
# refusal intercepted to be told over TLS would never be heard. Their CONNECT fails.
SERVER_FIRST_PORTS = frozenset({21, 22, 23, 25, 110, 143, 465, 587, 993, 995, 3306, 5900})

Destination = tuple[Decision, IPAddress | None]


def _printable(text: str, limit: int = 200) -> str:
    """Safe for a status line or header: printable ASCII, no CR/LF, bounded."""
    clean = "".join(c if 32 <= ord(c) < 127 else "?" for c in text)
    return clean[:limit]


class PolicyAddon:
    """Holds the client-connection → session map and applies each session's policy."""

    def __init__(self, request_limit: int = 64 << 20) -> None:
        self.request_limit = request_limit
        self.clients: dict[str, SessionNet] = {}
        self._cleared: dict[str, dict[tuple[str, int], IPAddress]] = {}
        self._opaque: dict[str, tuple[str, int]] = {}
        self._names: dict[str, tuple[str, int]] = {}  # server connection → name it was for
        self._refusing: dict[str, Decision] = {}  # client → its tunnel's refusal
        self._recording: set[asyncio.Future[None]] = set()
        self._socks: set[str] = set()  # SOCKS5 clients: no CONNECT, the destination comes first

    # --- attribution -------------------------------------------------------------------

    def attach(self, client_id: str, session: SessionNet, socks: bool = False) -> None:
        """Record that the connection `client_id` arrived on `session`'s socket."""
        self.clients[client_id] = session
        if socks:
            self._socks.add(client_id)

    def detach(self, client_id: str) -> None:
        self.clients.pop(client_id, None)
        self._socks.discard(client_id)
        self._cleared.pop(client_id, None)
        self._opaque.pop(client_id, None)
        self._refusing.pop(client_id, None)

    def _clear(self, client_id: str, host: str, port: int, address: IPAddress | None) -> None:
        if address is not None:
            self._cleared.setdefault(client_id, {})[(host, port)] = address

    # --- hooks -------------------------------------------------------------------------

    async def http_connect(self, flow: http.HTTPFlow) -> None:
        """Decide a CONNECT: opaque tunnel, refusal, or interception to decide inside."""
        session = self.clients.get(flow.client_conn.id)
        if session is None:
            _refuse(flow, "connection not attributed to a Sandgate session", connect=True)
            return
        host, port = normalise_host(flow.request.host), flow.request.port
        decision, address = await self._destination(session, host, port)
        if decision.action == "deny" and port in SERVER_FIRST_PORTS:
            _refuse(flow, decision.reason, connect=True)
            self._emit(session, _connect_event(session, host, port), _policy(decision))
        elif decision.action == "deny":
            # Accepted and intercepted: `requestheaders` refuses each request inside with
            # a 403 and records it; `tls_failed_client` records a client that will not
            # talk TLS to Sandgate.
            self._refusing[flow.client_conn.id] = decision
        elif decision.action == "allow" and not session.inspected(host):
            self._clear(flow.client_conn.id, host, port, address)
            self._opaque[flow.client_conn.id] = (host, port)
            self._emit(session, _connect_event(session, host, port), _policy(decision))
        # else: unknown or bound — accepted, intercepted, decided per request inside.

    async def tls_clienthello(self, data: ClientHelloData) -> None:
        """Pass an allowed tunnel's TLS through untouched, unless its SNI names another host."""
        client_id = data.context.client.id
        if client_id in self._socks and client_id not in self._opaque:
            await self._open_socks_tunnel(data)
        target = self._opaque.get(client_id)
        if target is None:
            return
        sni = normalise_host(data.client_hello.sni or target[0])
        if sni == target[0]:
            data.ignore_connection = True
        else:
            # Domain fronting: the tunnel says one name and TLS another. Look inside and
            # decide each request by its real host.
            self._opaque.pop(data.context.client.id, None)
            self._cleared.get(data.context.client.id, {}).pop(target, None)

    async def tls_failed_client(self, data: TlsData) -> None:
        """A client that will not accept Sandgate's CA for an intercepted tunnel (certificate
        pinning, or a client that ignores the CA variables): nothing went out; record it."""
        session = self.clients.get(data.context.client.id)
        address = data.context.server.address
        if session is None or address is None:
            return
        host, port = normalise_host(str(address[0])), int(address[1])
        refused = self._refusing.get(data.context.client.id)
        if refused is not None:
            why = f"{refused.reason} (the client refused Sandgate's certificate: not told)"
            outcome = Outcome("deny", "policy", why, rule=refused.rule)
        else:
            why = (
                f"the client refused Sandgate's certificate for {host} (a destination that "
                "is inspected: unknown, or bound to a credential); nothing was sent"
            )
            outcome = Outcome("deny", "policy", why)
        self._emit(session, _connect_event(session, host, port), outcome)

    def next_layer(self, nextlayer: layer.NextLayer) -> None:
        """Have request bodies measured as they arrive (see `sandbox.proxy.limits`)."""
        limit_http(nextlayer, self.request_limit, self._too_large)

    def _too_large(self, flow: http.HTTPFlow) -> None:
        """A body of undeclared size went over the limit while it arrived."""
        reason = f"request bodies over {_megabytes(self.request_limit)} cannot be inspected"
        _refuse(flow, reason, status=413)
        session = self.clients.get(flow.client_conn.id)
        if session is not None:
            self._emit(session, _request_event(session, flow), Outcome("deny", "policy", reason))

    async def requestheaders(self, flow: http.HTTPFlow) -> None:
        """Refuse denied destinations before their body is read."""
        session = self.clients.get(flow.client_conn.id)
        if session is None:
            _refuse(flow, "connection not attributed to a Sandgate session")
            return
        host, port = normalise_host(flow.request.host), flow.request.port
        decision, address = await self._destination(session, host, port)
        decision = _fronting(session, flow, host, port, decision, address)
        flow.metadata["sandgate.destination"] = (decision, address)
        size = flow.request.headers.get("content-length", "")
        too_large = size.isdigit() and int(size) > self.request_limit
        if decision.action != "deny" and too_large:
            limit = _megabytes(self.request_limit)
            decision = Decision("deny", None, f"request bodies over {limit} cannot be inspected")
        if decision.action == "deny":
            _refuse(flow, decision.reason, status=413 if too_large else 403)
            self._emit(session, _request_event(session, flow), _policy(decision))

    async def request(self, flow: http.HTTPFlow) -> None:
        """Decide a complete request: canaries, bound credentials, then the destination."""
        session = self.clients.get(flow.client_conn.id)
        if session is None or flow.response is not None:
            return  # refused in requestheaders
        host, port = normalise_host(flow.request.host), flow.request.port
        destination: Destination | None = flow.metadata.get("sandgate.destination")
        if destination is None:
            destination = await self._destination(session, host, port)
        decision, address = destination
        event = _request_event(session, flow)
        body = flow.request.raw_content or b""
        # A compressed body is searched decoded too (a canary inside gzip is still a canary).
        decoded = flow.request.get_content(strict=False) or b""
        view = RequestView(
            url=flow.request.url,
            headers=list(flow.request.headers.items(multi=True)),  # type: ignore[no-untyped-call]
            body=body if decoded == body else body + b"\n" + decoded,
        )
        outcome: Outcome | None = None
        canary = find_canary(view, session.canary_forms())
        login = None if canary is not None else check_login(session, flow, host, view)
        binding = session.bindings.get(host) if login is None else None
        if canary is not None:
            outcome = Outcome(
                "deny", "canary", "the request carries this session's canary token", critical=True
            )
        elif login is not None and login.critical:
            outcome = login  # the login's token toward another vendor, or a foreign key
        elif decision.action == "deny":
            outcome = _policy(decision)
        elif login is not None:
            outcome = login
        elif binding is not None:
            if binding.secret is None:
                why = f"credential {binding.name!r} is not stored: `sandgate credential add`"
                outcome = Outcome("deny", "credential", why)
            elif flow.request.scheme != "https":
                why = f"{host} is bound to a credential: HTTPS only"
                outcome = Outcome("deny", "credential", why)
            elif foreign := foreign_credential(view, binding.header, binding.placeholder):
                missing = foreign.startswith(MISSING_PREFIX)
                reason = foreign.removeprefix(MISSING_PREFIX)
                outcome = Outcome("deny", "credential", reason, critical=not missing)
            else:
                outcome = Outcome(
                    "allow",
                    "credential",
                    f"carries the placeholder of credential {binding.name!r}",
                    rule=f"credential:{binding.name}",
                )
        elif decision.action == "allow":
            outcome = _policy(decision)
        else:
            answer = await self._ask(session, event)
            outcome = Outcome(
                "allow" if answer.allow else "deny",
                answer.by,
                answer.reason,
                scope=answer.scope,
                batch=answer.batch,
            )

        if outcome.action == "deny":
            _refuse(flow, outcome.reason)
        else:
            self._clear(flow.client_conn.id, host, port, address)
            if binding is not None and binding.secret is not None:
                value = flow.request.headers[binding.header]
                flow.request.headers[binding.header] = value.replace(
                    binding.placeholder, binding.secret
                )
        self._emit(session, event, outcome)

    def responseheaders(self, flow: http.HTTPFlow) -> None:
        """Stream responses that are large or of unknown size: the policy never needs to
        see a download whole. Small ones are sent in one write, which is quicker."""
        if flow.response is None:
            return
        session = self.clients.get(flow.client_conn.id)
        if session is not None and keep_whole(session, flow, normalise_host(flow.request.host)):
            return  # a token endpoint's answer: its tokens are swapped in `response`
        size = flow.response.headers.get("content-length", "")
        if not size.isdigit() or int(size) > STREAM_ABOVE:
            flow.response.stream = True

    def response(self, flow: http.HTTPFlow) -> None:
        """Fresh login tokens from the vendor become placeholders before the agent sees them."""
        session = self.clients.get(flow.client_conn.id)
        if session is not None:
            swap_response(session, flow, normalise_host(flow.request.host))

    async def server_connect(self, data: server_hooks.ServerConnectionHookData) -> None:
        """The chokepoint: connect only where this connection was cleared, to that address."""
        assert data.server.address is not None
        host, port = normalise_host(str(data.server.address[0])), int(data.server.address[1])
        session = self.clients.get(data.client.id)
        address = self._cleared.get(data.client.id, {}).get((host, port))
        if session is not None and address is None and data.client.id in self._socks:
            # Raw TCP over SOCKS5: the only decision point there is.
            decision, resolved = await self._destination(session, host, port)
            if decision.action == "allow" and not session.inspected(host):
                address = resolved
                self._emit(session, _connect_event(session, host, port), _policy(decision))
        if session is None or address is None:
            data.server.error = f"Sandgate: {host}:{port} was not allowed for this connection"
            if session is not None:
                refused = self._refusing.get(data.client.id)
                outcome = (
                    _policy(refused)
                    if refused is not None
                    else Outcome(
                        "deny",
                        "policy",
                        "an undecided destination's tunnel carries no HTTP(S) Sandgate can inspect",
                    )
                )
                self._emit(session, _connect_event(session, host, port), outcome)
            return
        if data.server.sni is None and parse_address(host) is None:
            data.server.sni = host
        self._names[data.server.id] = data.server.address
        data.server.address = (str(address), port)

    def server_connected(self, data: server_hooks.ServerConnectionHookData) -> None:
        """Give the connection its name back once it is made to the checked address, so
        mitmproxy reuses it for the next request to the same name (instead of opening
        one per request until its per-destination limit blocks)."""
        name = self._names.pop(data.server.id, None)
        if name is not None:
            # mitmproxy refuses address changes on an open connection (they would not
            # move it); this one only relabels it, so its guard is stepped around.
            object.__setattr__(data.server, "address", name)

    def server_connect_error(self, data: server_hooks.ServerConnectionHookData) -> None:
        self._names.pop(data.server.id, None)

    def client_disconnected(self, client: Client) -> None:
        self.detach(client.id)

    # --- helpers -----------------------------------------------------------------------

    def _emit(self, session: SessionNet, event: Event, outcome: Outcome) -> None:
        """Hand a decided event to the service without making the traffic wait for it
        (triage and the database write run after the request goes on its way)."""
        try:
            result = session.on_event(event, outcome)
        except Exception:
            logger.exception("the service's event callback failed")
            return
        if inspect.isawaitable(result):
            task = asyncio.ensure_future(result)
            self._recording.add(task)
            task.add_done_callback(self._recorded)

    def _recorded(self, task: asyncio.Future[None]) -> None:
        self._recording.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("the service's event callback failed", exc_info=task.exception())

    async def _open_socks_tunnel(self, data: ClientHelloData) -> None:
        """A SOCKS5 client's TLS: an allowed destination becomes an opaque tunnel, as after
        CONNECT; anything else is intercepted and decided per request inside."""
        session = self.clients.get(data.context.client.id)
        if session is None or data.context.server.address is None:
            return
        host = normalise_host(str(data.context.server.address[0]))
        port = int(data.context.server.address[1])
        decision, address = await self._destination(session, host, port)
        if decision.action == "allow" and not session.inspected(host):
            self._clear(data.context.client.id, host, port, address)
            self._opaque[data.context.client.id] = (host, port)
            self._emit(session, _connect_event(session, host, port), _policy(decision))

    async def _destination(self, session: SessionNet, host: str, port: int) -> Destination:
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

    async def _ask(self, session: SessionNet, event: Event) -> Answer:
        """Wait for the service's answer; the session closing or a stuck service deny."""
        asking = asyncio.ensure_future(session.ask(event))
        closing = asyncio.ensure_future(session.closed.wait())
        session.waiting += 1
        try:
            done, _ = await asyncio.wait(
                {asking, closing},
                timeout=session.ask_timeout + 10,
                return_when=asyncio.FIRST_COMPLETED,
            )
        finally:
            session.waiting -= 1
            closing.cancel()
        if asking in done and not asking.cancelled() and asking.exception() is None:
            return asking.result()
        asking.cancel()
        if closing in done:
            return Answer(False, "closed", "the session ended while the request waited")
        if asking in done:
            logger.error("asking about a request failed", exc_info=asking.exception())
            return Answer(False, "error", "Sandgate could not ask about this request")
        return Answer(False, "timeout", "no decision in time")


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


def _fronting(
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


def _policy(decision: Decision) -> Outcome:
    if decision.action == "allow":
        return Outcome("allow", "policy", decision.reason, rule=decision.rule)
    return Outcome("deny", "policy", decision.reason, rule=decision.rule)


def _megabytes(size: int) -> str:
    return f"{size / (1 << 20):g} MB"


def _refuse(flow: http.HTTPFlow, reason: str, connect: bool = False, status: int = 403) -> None:
    text = _printable(reason)
    flow.response = http.Response.make(
        status,
        f"Sandgate refused this request: {text}\n",
        {"Content-Type": "text/plain; charset=utf-8", REASON_HEADER: text, "Connection": "close"},
    )
    if connect:
        flow.response.reason = f"Sandgate: {text}"
    else:
        flow.response.reason = "Forbidden by Sandgate" if status == 403 else "Refused by Sandgate"


def _base_event(session: SessionNet, kind: str) -> Event:
    return {"id": uuid.uuid4().hex, "session": session.id, "kind": kind, "ts": time.time()}


def _connect_event(session: SessionNet, host: str, port: int) -> Event:
    return _base_event(session, "net.connect") | {"host": host, "port": port}


def _request_event(session: SessionNet, flow: http.HTTPFlow) -> Event:
    headers: dict[str, str] = {}
    for name, value in flow.request.headers.items(multi=True):  # type: ignore[no-untyped-call]
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    event = _base_event(session, "net.request") | {
        "method": flow.request.method,
        "url": flow.request.url,
        "headers": headers,
    }
    body = flow.request.raw_content or b""
    if body:
        clipped = body[:EVENT_BODY_LIMIT]
        try:
            event["body"] = clipped.decode("utf-8")
        except UnicodeDecodeError:
            event["body_b64"] = base64.b64encode(clipped).decode()
        if len(body) > EVENT_BODY_LIMIT:
            event["body_truncated"] = len(body)
    return event
