"""Requests forwarded with their body framed for the upstream's HTTP version.

An HTTP/2 request need not declare its body's size (no content-length: the stream's end
says it). Relayed to an HTTP/1.1 upstream as it was, it carried neither content-length
nor transfer-encoding, so the upstream read an empty body (or answered 502) and the
agent's upload was lost. Sandgate holds every request body whole before it decides, so
the size is known by then: an addon after the policy's states it.
"""

from __future__ import annotations

from mitmproxy import http


class BodyFraming:
    """mitmproxy addon: give a complete request body of undeclared size its length."""

    def request(self, flow: http.HTTPFlow) -> None:
        if flow.response is not None:
            return  # refused: nothing is forwarded
        request = flow.request
        headers = request.headers
        if "content-length" in headers or "transfer-encoding" in headers:
            return
        body = request.raw_content
        if body:
            headers["content-length"] = str(len(body))
