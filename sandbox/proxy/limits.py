"""The request body limit, applied as the body arrives, whatever its framing.

Sandgate inspects every request whole before anything is forwarded, so a request body is
held in memory until it ends. A body that declares its size is refused on its headers
when too large; one that does not (HTTP/1 chunked, HTTP/2 without content-length) can
only be measured as it arrives.

mitmproxy measures it there already: `HttpStream.check_body_size` runs after every piece
of a buffered body. But its limit is one option for both directions (`body_size_limit`),
checked on a response's headers before any addon sees them, so setting it would cut every
download over the limit. Hence a stream whose check applies Sandgate's limit to requests
only (responses keep mitmproxy's own check, with no limit set), and an HTTP layer that
makes such streams; `PolicyAddon.next_layer` puts that layer in place of mitmproxy's.

A body over the limit, or the body of a request already refused on its headers, is not
kept: the refusal is sent at once and the connection closed (HTTP/2: the stream reset),
so nothing is read into memory past the limit and nothing has been forwarded.

Every session also has a memory budget (`sandbox.proxy.budget`): a request body that would
take the bodies its session holds at once over the budget is refused the same way, with
503 (the same request may pass once others finish); a buffered response that would is
streamed on instead, since the policy does not need it whole.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

from mitmproxy import http
from mitmproxy.net.http import status_codes
from mitmproxy.proxy import commands, events, layer
from mitmproxy.proxy.context import Context
from mitmproxy.proxy.layers.http import (
    DropStream,
    HttpLayer,
    HTTPMode,
    HttpStream,
    SendHttp,
)
from mitmproxy.proxy.layers.http._events import (
    RequestData,
    ResponseData,
    ResponseProtocolError,
)

from sandbox.proxy.budget import BodyBudget
from sandbox.proxy.heads import DRAIN_SECONDS, HeadLimitedHttp1Server, in_tunnel
from sandbox.proxy.refusals import megabytes

# Called with a flow whose body is refused, the status and the reason: it sets the
# refusal as `flow.response` (and records it).
Refuse = Callable[[http.HTTPFlow, int, str], None]
# Set in a flow's metadata when its response must be kept whole (a login's token answer).
KEEP_WHOLE = "sandgate.keep_whole"
_layer_ids = itertools.count(1)


def held_bytes(stream: HttpStream) -> int:
    """The body bytes `stream` holds now: what is buffered, what waits for it while a hook
    runs (mitmproxy queues a paused stream's events), and its flow's bodies once whole (a
    streamed response's body passes through and is never held)."""
    size = len(stream.request_body_buf) + len(stream.response_body_buf)
    for waiting in stream._paused_event_queue:
        if isinstance(waiting, RequestData | ResponseData):
            size += len(waiting.data)
    flow: http.HTTPFlow | None = getattr(stream, "flow", None)
    if flow is not None:
        size += len(flow.request.raw_content or b"")
        if flow.response is not None and not flow.response.stream:
            size += len(flow.response.raw_content or b"")
    return size


class LimitedStream(HttpStream):
    """mitmproxy's HTTP stream, with the request body limit and the session's budget
    checked as bodies arrive."""

    def __init__(
        self, context: Context, stream_id: int, parent: LimitedHttpLayer, refuse: Refuse
    ) -> None:
        super().__init__(context, stream_id)
        self.http_layer = parent
        self.limit = parent.limit
        self.refuse = refuse
        self._closing: commands.RequestWakeup | None = None  # after a refusal in a tunnel

    def check_body_size(self, request: bool) -> layer.CommandGenerator[bool]:
        if request and self.client_state == self.state_consume_request_body:
            refused = self.flow.response is not None  # on its headers: the body is not wanted
            if refused or len(self.request_body_buf) > self.limit:
                reason = f"request bodies over {megabytes(self.limit)} cannot be inspected"
                yield from self._cut(refused, 413, reason)
                return True
            budget = self.http_layer.budget
            if budget is not None and self.http_layer.hold(self) > budget.limit:
                reason = (
                    f"this session's requests together hold over {megabytes(budget.limit)} "
                    "of bodies in Sandgate (its budget): send this again when they finish"
                )
                yield from self._cut(False, 503, reason)
                return True
        elif not request and self.server_state == self.state_consume_response_body:
            budget = self.http_layer.budget
            over = budget is not None and self.http_layer.hold(self) > budget.limit
            if over and not self.flow.metadata.get(KEEP_WHOLE):
                yield from self._stream_response()
        return (yield from super().check_body_size(request))

    def _stream_response(self) -> layer.CommandGenerator[None]:
        """Pass the rest of the response through instead of holding it (as mitmproxy does
        for `stream_large_bodies`): what is buffered goes first."""
        assert self.flow.response is not None
        self.flow.response.stream = True
        buffered = bytes(self.response_body_buf)
        self.response_body_buf.clear()  # type: ignore[no-untyped-call]
        yield from self.start_response_stream()
        yield from self.handle_event(ResponseData(self.stream_id, buffered))
        self.http_layer.hold(self)

    def _cut(self, refused: bool, status: int, reason: str) -> layer.CommandGenerator[None]:
        self.request_body_buf.clear()  # type: ignore[no-untyped-call]
        self.client_state = self.state_errored  # what the client still sends is dropped
        if not refused:
            self.refuse(self.flow, status, reason)
        self.http_layer.hold(self)
        assert self.flow.response is not None
        yield from self.send_response()
        if self.flow.request.is_http2:
            # Reset the stream: the response is already out, so this sends no error page.
            yield SendHttp(
                ResponseProtocolError(
                    self.stream_id, "request body refused by Sandgate", status_codes.NO_RESPONSE
                ),
                self.context.client,
            )
            # Done with: otherwise it stayed in the layer (and on the budget) until the
            # connection closed, one refused stream after another.
            yield DropStream(self.stream_id)
        elif in_tunnel(self.context):
            # No half-close inside a tunnel (see `heads.in_tunnel`): what the client still
            # sends is dropped, and the connection closes when it goes or after a while.
            self._closing = commands.RequestWakeup(DRAIN_SECONDS)
            yield self._closing
        else:
            # Closing a connection with unread data resets it, and a client still sending
            # would lose the refusal: end our side only. What the client still sends is
            # read and dropped; the connection closes when the body ends or it goes away.
            yield commands.CloseTcpConnection(self.context.client, half_close=True)
        self.flow.live = False

    def _handle_event(self, event: events.Event) -> layer.CommandGenerator[None]:
        if isinstance(event, events.Wakeup) and event.command is self._closing:
            yield commands.CloseConnection(self.context.client)
            return
        yield from super()._handle_event(event)


class LimitedHttpLayer(HttpLayer):
    """mitmproxy's HTTP layer, making `LimitedStream`s and keeping their charges on the
    session's budget up to date."""

    def __init__(
        self,
        context: Context,
        mode: HTTPMode,
        limit: int,
        refuse: Refuse,
        budget: BodyBudget | None,
    ) -> None:
        super().__init__(context, mode)
        self.limit = limit
        self.refuse = refuse
        self.budget = budget
        self._id = next(_layer_ids)  # stream ids repeat in a connection's inner layers
        self._holding: dict[int, HttpStream] = {}  # streams with a charge

    def hold(self, stream: LimitedStream) -> int:
        """Charge `stream` for what it holds now; return the session's total."""
        if self.budget is None:
            return 0
        self._holding[stream.stream_id] = stream
        return self.budget.charge(self._key(stream.stream_id), held_bytes(stream))

    def _key(self, stream_id: int) -> tuple[str, int, int]:
        return (self.context.client.id, self._id, stream_id)

    def _settle(self) -> None:
        """Recharge each holding stream; one that has ended (dropped) is charged nothing."""
        assert self.budget is not None
        for stream_id, stream in list(self._holding.items()):
            live = self.streams.get(stream_id) is stream
            size = held_bytes(stream) if live else 0
            self.budget.charge(self._key(stream_id), size)
            if size == 0:
                del self._holding[stream_id]

    def event_to_child(
        self, child: layer.Layer | HttpStream, event: events.Event
    ) -> layer.CommandGenerator[None]:
        yield from super().event_to_child(child, event)
        if isinstance(child, LimitedStream) and child._paused_event_queue:
            self.hold(child)  # body data queued behind a hook it waits for
        if self._holding:
            self._settle()

    def _handle_event(self, event: events.Event) -> layer.CommandGenerator[None]:
        # An HTTP/1 client gets a server side that limits its request heads
        # (sandbox.proxy.heads); mitmproxy keeps a connection already set for the client.
        if isinstance(event, events.Start) and self.context.client.alpn not in (b"h2", b"h3"):
            client = self.context.client
            if client not in self.connections:
                self.connections[client] = HeadLimitedHttp1Server(self.context.fork())
        yield from super()._handle_event(event)

    def make_stream(self, stream_id: int) -> layer.CommandGenerator[None]:
        stream = LimitedStream(self.context.fork(), stream_id, self, self.refuse)
        self.streams[stream_id] = stream
        yield from self.event_to_child(stream, events.Start())


def limit_http(
    nextlayer: layer.NextLayer, limit: int, refuse: Refuse, budget: BodyBudget | None
) -> None:
    """Put a `LimitedHttpLayer` in place of the plain HTTP layer mitmproxy chose."""
    chosen = nextlayer.layer
    if type(chosen) is not HttpLayer:
        return
    context = chosen.context
    limited = LimitedHttpLayer(context, chosen.mode, limit, refuse, budget)
    context.layers.remove(chosen)  # each layer adds itself to the stack on creation
    nextlayer.layer = limited


__all__ = ["KEEP_WHOLE", "LimitedHttpLayer", "LimitedStream", "held_bytes", "limit_http"]
