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
  asks a person (`sandbox.proxy.request_policy`).
"""

from __future__ import annotations

from mitmproxy import http
from mitmproxy.connection import Client
from mitmproxy.proxy import layer, server_hooks
from mitmproxy.tls import ClientHelloData, TlsData

from sandbox.proxy.destinations import Destination, decide_destination, fronting, policy_outcome
from sandbox.proxy.limits import KEEP_WHOLE, limit_http
from sandbox.proxy.login_checks import keep_whole, swap_response
from sandbox.proxy.recording import Recorder, connect_event, request_event
from sandbox.proxy.refusals import megabytes, refuse
from sandbox.proxy.request_policy import judge, put_secret
from sandbox.proxy.rules import Decision, IPAddress, normalise_host, parse_address
from sandbox.proxy.session import Event, Outcome, SessionNet

STREAM_ABOVE = 256 * 1024
# Protocols where the server speaks first (ssh, ftp, smtp, pop, imap, mysql, vnc, …):
# a client tunnelling one through CONNECT sends nothing until it hears the server, so a
# refusal intercepted to be told over TLS would never be heard. Their CONNECT fails.
SERVER_FIRST_PORTS = frozenset({21, 22, 23, 25, 110, 143, 465, 587, 993, 995, 3306, 5900})


class PolicyAddon:
    """Holds the client-connection → session map and applies each session's policy."""

    def __init__(self, request_limit: int = 64 << 20) -> None:
        self.request_limit = request_limit
        self.clients: dict[str, SessionNet] = {}
        self._cleared: dict[str, dict[tuple[str, int], IPAddress]] = {}
        self._opaque: dict[str, tuple[str, int]] = {}
        self._names: dict[str, tuple[str, int]] = {}  # server connection → name it was for
        self._refusing: dict[str, Decision] = {}  # client → its tunnel's refusal
        self._recorder = Recorder()
        self._socks: set[str] = set()  # SOCKS5 clients: no CONNECT, the destination comes first

    # --- attribution -------------------------------------------------------------------

    def attach(self, client_id: str, session: SessionNet, socks: bool = False) -> None:
        """Record that the connection `client_id` arrived on `session`'s socket."""
        self.clients[client_id] = session
        if socks:
            self._socks.add(client_id)

    def detach(self, client_id: str) -> None:
        session = self.clients.pop(client_id, None)
        if session is not None:
            session.budget.release_client(client_id)
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
            refuse(flow, "connection not attributed to a Sandgate session", connect=True)
            return
        host, port = normalise_host(flow.request.host), flow.request.port
        decision, address = await decide_destination(session, host, port)
        if decision.action == "deny" and port in SERVER_FIRST_PORTS:
            refuse(flow, decision.reason, connect=True)
            self._emit(session, connect_event(session, host, port), policy_outcome(decision))
        elif decision.action == "deny":
            # Accepted and intercepted: `requestheaders` refuses each request inside with
            # a 403 and records it; `tls_failed_client` records a client that will not
            # talk TLS to Sandgate.
            self._refusing[flow.client_conn.id] = decision
        elif decision.action == "allow" and not session.inspected(host):
            event = connect_event(session, host, port)
            failure = await self._recorder.record(session, event, policy_outcome(decision))
            if failure is not None:  # not recorded: refused inside, as a denied tunnel
                self._refusing[flow.client_conn.id] = Decision("deny", None, failure)
                return
            self._clear(flow.client_conn.id, host, port, address)
            self._opaque[flow.client_conn.id] = (host, port)
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
        self._emit(session, connect_event(session, host, port), outcome)

    def next_layer(self, nextlayer: layer.NextLayer) -> None:
        """Have bodies measured as they arrive, against the request limit and the session's
        budget (see `sandbox.proxy.limits`)."""
        session = self.clients.get(nextlayer.context.client.id)
        budget = session.budget if session is not None else None
        limit_http(nextlayer, self.request_limit, self._body_refused, budget)

    def _body_refused(self, flow: http.HTTPFlow, status: int, reason: str) -> None:
        """A body went over the limit, or over its session's budget, while it arrived."""
        retry = {"Retry-After": "1"} if status == 503 else None
        refuse(flow, reason, status=status, headers=retry)
        session = self.clients.get(flow.client_conn.id)
        if session is not None:
            self._emit(session, request_event(session, flow), Outcome("deny", "policy", reason))

    async def requestheaders(self, flow: http.HTTPFlow) -> None:
        """Refuse denied destinations before their body is read."""
        session = self.clients.get(flow.client_conn.id)
        if session is None:
            refuse(flow, "connection not attributed to a Sandgate session")
            return
        host, port = normalise_host(flow.request.host), flow.request.port
        decision, address = await decide_destination(session, host, port)
        decision = fronting(session, flow, host, port, decision, address)
        flow.metadata["sandgate.destination"] = (decision, address)
        size = flow.request.headers.get("content-length", "")
        too_large = size.isdigit() and int(size) > self.request_limit
        if decision.action != "deny" and too_large:
            limit = megabytes(self.request_limit)
            decision = Decision("deny", None, f"request bodies over {limit} cannot be inspected")
        if decision.action == "deny":
            refuse(flow, decision.reason, status=413 if too_large else 403)
            self._emit(session, request_event(session, flow), policy_outcome(decision))

    async def request(self, flow: http.HTTPFlow) -> None:
        """Decide a complete request: canaries, bound credentials, then the destination."""
        session = self.clients.get(flow.client_conn.id)
        if session is None or flow.response is not None:
            return  # refused in requestheaders
        host, port = normalise_host(flow.request.host), flow.request.port
        destination: Destination | None = flow.metadata.get("sandgate.destination")
        if destination is None:
            destination = await decide_destination(session, host, port)
        decision, address = destination
        event = request_event(session, flow)
        outcome, binding = await judge(session, flow, host, decision, event)
        if outcome.action == "allow":
            # Recorded before it goes: a request that cannot be recorded does not go.
            failure = await self._recorder.record(session, event, outcome)
            if failure is None:
                self._clear(flow.client_conn.id, host, port, address)
                if binding is not None:
                    put_secret(flow, binding)
                return
            outcome = Outcome("deny", "recording", failure)
        refuse(flow, outcome.reason)
        self._emit(session, event, outcome)

    def responseheaders(self, flow: http.HTTPFlow) -> None:
        """Stream responses that are large or of unknown size: the policy never needs to
        see a download whole. Small ones are sent in one write, which is quicker."""
        if flow.response is None:
            return
        session = self.clients.get(flow.client_conn.id)
        if session is not None and keep_whole(session, flow, normalise_host(flow.request.host)):
            flow.metadata[KEEP_WHOLE] = True
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
            decision, resolved = await decide_destination(session, host, port)
            if decision.action == "allow" and not session.inspected(host):
                event = connect_event(session, host, port)
                failure = await self._recorder.record(session, event, policy_outcome(decision))
                address = resolved if failure is None else None
        if session is not None and session.halted is not None:
            address = None  # cleared before the halt: no new connection either
        if session is None or address is None:
            data.server.error = f"Sandgate: {host}:{port} was not allowed for this connection"
            if session is not None:
                refused = self._refusing.get(data.client.id)
                outcome = (
                    policy_outcome(refused)
                    if refused is not None
                    else Outcome(
                        "deny",
                        "policy",
                        "an undecided destination's tunnel carries no HTTP(S) Sandgate can inspect",
                    )
                )
                self._emit(session, connect_event(session, host, port), outcome)
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

    def is_opaque(self, client_id: str) -> bool:
        """Is this client connection a tunnel passed through untouched?"""
        return client_id in self._opaque

    # --- helpers -----------------------------------------------------------------------

    def _emit(self, session: SessionNet, event: Event, outcome: Outcome) -> None:
        self._recorder.emit(session, event, outcome)

    async def _open_socks_tunnel(self, data: ClientHelloData) -> None:
        """A SOCKS5 client's TLS: an allowed destination becomes an opaque tunnel, as after
        CONNECT; anything else is intercepted and decided per request inside."""
        session = self.clients.get(data.context.client.id)
        if session is None or data.context.server.address is None:
            return
        host = normalise_host(str(data.context.server.address[0]))
        port = int(data.context.server.address[1])
        decision, address = await decide_destination(session, host, port)
        if decision.action == "allow" and not session.inspected(host):
            event = connect_event(session, host, port)
            if await self._recorder.record(session, event, policy_outcome(decision)) is None:
                self._clear(data.context.client.id, host, port, address)
                self._opaque[data.context.client.id] = (host, port)
