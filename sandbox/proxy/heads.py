"""Limits on HTTP/1 request heads, applied before mitmproxy parses a head or anything of
the request is forwarded.

mitmproxy's HTTP/1 server reads a request head with no limit of its own: a 64 MB head
was held in memory, a client sending its head a byte a second was never cut, 4 KB of
garbage without a blank line got no answer, and header values carrying NUL, a bare CR
or obsolete line folding reached the upstream unchanged (a request-smuggling and
header-injection path towards allowed destinations). `HeadLimitedHttp1Server` checks
each head as it arrives, in plain HTTP and inside intercepted TLS alike, and answers a
head it refuses with a status and Sandgate's reason, then closes the connection.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

from h11._receivebuffer import ReceiveBuffer
from mitmproxy.proxy import commands, events, layer
from mitmproxy.proxy.context import Context
from mitmproxy.proxy.layers.http import HttpLayer
from mitmproxy.proxy.layers.http._http1 import Http1Server

from sandbox.proxy.refusals import REASON_HEADER

MAX_HEAD = 64 * 1024  # bytes of one request head, request line and headers together
MAX_LINE = 8 * 1024  # bytes of the request line, or of one header line
MAX_HEADERS = 100  # header fields in one request
HEAD_TIMEOUT = 20.0  # seconds from a head's first byte to its blank line
# After a refusal, what the client still sends is read and dropped for this long, or
# this much, before the connection is closed (so the refusal is not lost to a reset).
DRAIN_SECONDS = 2.0
DRAIN_BYTES = 4 << 20


_TERMINATOR = re.compile(rb"\r?\n\r?\n")
# The start of a request line: a method token, then a space. A client whose first bytes
# cannot begin one is answered at once rather than left waiting for a blank line.
_METHOD_PREFIX = re.compile(rb"[A-Z]{0,20}\Z|[A-Z]{1,20} ")
# In a header line: controls other than tab, including NUL and a CR not ending the line.
_BAD_BYTES = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")

_STATUS_TEXT = {
    400: "Bad Request",
    408: "Request Timeout",
    414: "URI Too Long",
    431: "Request Header Fields Too Large",
    503: "Service Unavailable",
}


@dataclass(frozen=True)
class Refusal:
    status: int
    reason: str


def check_partial(data: bytes) -> Refusal | None:
    """A refusal for an incomplete head `data` that can already be judged: too long,
    or not the start of a request line."""
    start = data.lstrip(b"\r\n")[:24]
    if start and not _METHOD_PREFIX.match(start):
        return Refusal(400, "this is not an HTTP request")
    first_line_end = data.find(b"\n")
    if (first_line_end == -1 and len(data) > MAX_LINE) or first_line_end > MAX_LINE:
        return Refusal(414, f"the request line is longer than {MAX_LINE // 1024} KiB")
    if len(data) > MAX_HEAD:
        return Refusal(431, f"the request head is larger than {MAX_HEAD // 1024} KiB")
    return None


def check_head(head: bytes) -> Refusal | None:
    """A refusal for a complete head (without its blank line), or None."""
    lines = head.lstrip(b"\r\n").split(b"\n")
    lines = [line[:-1] if line.endswith(b"\r") else line for line in lines]
    if len(lines[0]) > MAX_LINE:
        return Refusal(414, f"the request line is longer than {MAX_LINE // 1024} KiB")
    if _BAD_BYTES.search(lines[0]):
        return Refusal(400, "the request line holds a control character")
    headers = lines[1:]
    if len(headers) > MAX_HEADERS:
        return Refusal(431, f"the request has more than {MAX_HEADERS} header fields")
    for line in headers:
        if len(line) > MAX_LINE:
            return Refusal(431, f"a header line is longer than {MAX_LINE // 1024} KiB")
        if line[:1] in (b" ", b"\t"):
            return Refusal(400, "a header uses obsolete line folding")
        if _BAD_BYTES.search(line):
            return Refusal(400, "a header holds a control character (NUL, a bare CR, …)")
    return None


def refusal_bytes(refusal: Refusal) -> bytes:
    """The whole HTTP/1.1 response that refuses a head: status, Sandgate's reason in a
    header and in the body, and `Connection: close`."""
    body = f"Sandgate refused this request: {refusal.reason}\n".encode()
    status_text = _STATUS_TEXT.get(refusal.status, "Refused")
    head = (
        f"HTTP/1.1 {refusal.status} {status_text} (Sandgate)\r\n"
        f"{REASON_HEADER}: {refusal.reason}\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + body


def in_tunnel(context: Context) -> bool:
    """Does this HTTP layer run inside another's tunnel (TLS intercepted after CONNECT)?

    There a half-close cannot be had: the tunnel's layer turns any close of the client
    from inside into a full close, and a full close with the client's data unread resets
    the connection, throwing the answer away before the client reads it (a client still
    sending a refused body got "empty reply"). Inside a tunnel the connection is left
    open instead, and closed once the client goes or after `DRAIN_SECONDS`."""
    return sum(isinstance(x, HttpLayer) for x in context.layers) > 1


class HeadLimitedHttp1Server(Http1Server):
    """mitmproxy's HTTP/1 server side, refusing a head over the limits above before
    mitmproxy parses it (and so before any hook sees or forwards the request)."""

    _head_started: float | None = None
    _wakeup: commands.RequestWakeup | None = None
    _drained = 0

    def _handle_event(self, event: events.Event) -> layer.CommandGenerator[None]:
        if isinstance(event, events.Wakeup):
            if event.command is self._wakeup:
                yield from self._on_wakeup()
            return
        yield from super()._handle_event(event)

    def read_headers(self, event: events.ConnectionEvent) -> layer.CommandGenerator[None]:
        if isinstance(event, events.DataReceived):
            data = bytes(self.buf)
            match = _TERMINATOR.search(data, 0, MAX_HEAD + 4)
            if match is None:
                refusal = check_partial(data)
                if refusal is None and self._head_started is None and data.strip(b"\r\n"):
                    self._head_started = time.monotonic()
                    self._wakeup = commands.RequestWakeup(HEAD_TIMEOUT)
                    yield self._wakeup
            else:
                refusal = check_head(data[: match.start()])
                self._head_started = None  # the next request's head has its own time
            if refusal is not None:
                yield from self._refuse(refusal)
                return
        yield from super().read_headers(event)

    def _on_wakeup(self) -> layer.CommandGenerator[None]:
        if self.state == self._drain:
            yield from self._closed()
            return
        started = self._head_started
        if started is None or self.state != self.read_headers:
            return
        elapsed = time.monotonic() - started
        if elapsed >= HEAD_TIMEOUT:
            seconds = f"{HEAD_TIMEOUT:g}"
            yield from self._refuse(Refusal(408, f"the request head took over {seconds} s"))
        else:
            self._wakeup = commands.RequestWakeup(HEAD_TIMEOUT - elapsed)
            yield self._wakeup

    def _refuse(self, refusal: Refusal) -> layer.CommandGenerator[None]:
        """Answer, then close gently: stop sending, and read and drop what the client
        still sends for a moment. Closing at once with its data unread would reset the
        connection, and a reset throws away the answer before the client reads it."""
        self._head_started = None
        yield commands.SendData(self.conn, refusal_bytes(refusal))
        if not in_tunnel(self.context):
            yield commands.CloseTcpConnection(self.conn, half_close=True)
        self._drained = 0
        self.state = self._drain
        self._wakeup = commands.RequestWakeup(DRAIN_SECONDS)
        yield self._wakeup

    def _drain(self, event: events.Event) -> layer.CommandGenerator[None]:
        if isinstance(event, events.DataReceived):
            self._drained += len(event.data)
            self.buf = ReceiveBuffer()  # dropped, never kept
            if self._drained <= DRAIN_BYTES:
                return
        yield from self._closed()

    def _closed(self) -> layer.CommandGenerator[None]:
        self.state = self.done
        yield commands.CloseConnection(self.conn)


__all__ = [
    "HEAD_TIMEOUT",
    "MAX_HEAD",
    "MAX_HEADERS",
    "MAX_LINE",
    "HeadLimitedHttp1Server",
    "Refusal",
    "check_head",
    "check_partial",
    "in_tunnel",
    "refusal_bytes",
]
