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
"""

from __future__ import annotations

from collections.abc import Callable

from mitmproxy import http
from mitmproxy.net.http import status_codes
from mitmproxy.proxy import commands, events, layer
from mitmproxy.proxy.context import Context
from mitmproxy.proxy.layers.http import (
    HttpLayer,
    HTTPMode,
    HttpStream,
    SendHttp,
)
from mitmproxy.proxy.layers.http._events import ResponseProtocolError

from sandbox.proxy.heads import HeadLimitedHttp1Server

# Called with a flow whose body is over the limit: it sets the refusal as `flow.response`.
Refuse = Callable[[http.HTTPFlow], None]


class LimitedStream(HttpStream):
    """mitmproxy's HTTP stream, with the request body limit checked as the body arrives."""

    def __init__(self, context: Context, stream_id: int, limit: int, refuse: Refuse) -> None:
        super().__init__(context, stream_id)
        self.limit = limit
        self.refuse = refuse

    def check_body_size(self, request: bool) -> layer.CommandGenerator[bool]:
        if request and self.client_state == self.state_consume_request_body:
            refused = self.flow.response is not None  # on its headers: the body is not wanted
            if refused or len(self.request_body_buf) > self.limit:
                yield from self._cut(refused)
                return True
        return (yield from super().check_body_size(request))

    def _cut(self, refused: bool) -> layer.CommandGenerator[None]:
        self.request_body_buf.clear()  # type: ignore[no-untyped-call]
        self.client_state = self.state_errored  # what the client still sends is dropped
        if not refused:
            self.refuse(self.flow)
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
        else:
            # Closing a connection with unread data resets it, and a client still sending
            # would lose the refusal: end our side only. What the client still sends is
            # read and dropped; the connection closes when the body ends or it goes away.
            yield commands.CloseTcpConnection(self.context.client, half_close=True)
        self.flow.live = False


class LimitedHttpLayer(HttpLayer):
    """mitmproxy's HTTP layer, making `LimitedStream`s."""

    def __init__(self, context: Context, mode: HTTPMode, limit: int, refuse: Refuse) -> None:
        super().__init__(context, mode)
        self.limit = limit
        self.refuse = refuse

    def _handle_event(self, event: events.Event) -> layer.CommandGenerator[None]:
        # An HTTP/1 client gets a server side that limits its request heads
        # (sandbox.proxy.heads); mitmproxy keeps a connection already set for the client.
        if isinstance(event, events.Start) and self.context.client.alpn not in (b"h2", b"h3"):
            client = self.context.client
            if client not in self.connections:
                self.connections[client] = HeadLimitedHttp1Server(self.context.fork())
        yield from super()._handle_event(event)

    def make_stream(self, stream_id: int) -> layer.CommandGenerator[None]:
        stream = LimitedStream(self.context.fork(), stream_id, self.limit, self.refuse)
        self.streams[stream_id] = stream
        yield from self.event_to_child(stream, events.Start())


def limit_http(nextlayer: layer.NextLayer, limit: int, refuse: Refuse) -> None:
    """Put a `LimitedHttpLayer` in place of the plain HTTP layer mitmproxy chose."""
    chosen = nextlayer.layer
    if type(chosen) is not HttpLayer:
        return
    context = chosen.context
    limited = LimitedHttpLayer(context, chosen.mode, limit, refuse)
    context.layers.remove(chosen)  # each layer adds itself to the stack on creation
    nextlayer.layer = limited


__all__ = ["LimitedHttpLayer", "LimitedStream", "limit_http"]
