"""How the proxy tells a client no: an HTTP answer carrying Sandgate's reason."""

from __future__ import annotations

from mitmproxy import http

REASON_HEADER = "X-Sandgate-Reason"


def printable(text: str, limit: int = 200) -> str:
    """Safe for a status line or header: printable ASCII, no CR/LF, bounded."""
    clean = "".join(c if 32 <= ord(c) < 127 else "?" for c in text)
    return clean[:limit]


def megabytes(size: int) -> str:
    """A size for a reason a person reads: `64 MB`."""
    return f"{size / (1 << 20):g} MB"


def refuse(
    flow: http.HTTPFlow,
    reason: str,
    connect: bool = False,
    status: int = 403,
    headers: dict[str, str] | None = None,
) -> None:
    """Answer `flow` with `status` and the reason (in the body and `X-Sandgate-Reason`),
    closing the connection after it. A refused CONNECT carries the reason in its status
    line too, the only part some clients show."""
    text = printable(reason)
    flow.response = http.Response.make(
        status,
        f"Sandgate refused this request: {text}\n",
        {
            "Content-Type": "text/plain; charset=utf-8",
            REASON_HEADER: text,
            "Connection": "close",
            **(headers or {}),
        },
    )
    if connect:
        flow.response.reason = f"Sandgate: {text}"
    else:
        flow.response.reason = "Forbidden by Sandgate" if status == 403 else "Refused by Sandgate"
