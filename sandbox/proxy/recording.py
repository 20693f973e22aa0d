"""The events the proxy hands to the service, and the handing over.

An event describes what a client tried (a tunnel, a request); its outcome says what was
decided. The service records both; the proxy does not wait for the record before the
traffic goes on (triage and the database write run after)."""

from __future__ import annotations

import asyncio
import base64
import inspect
import logging
import time
import uuid

from mitmproxy import http

from sandbox.proxy.session import Event, NotRecorded, Outcome, SessionNet

logger = logging.getLogger(__name__)

EVENT_BODY_LIMIT = 64 * 1024


class Recorder:
    """Hands decided events to their session's `on_event`, keeping the tasks it starts."""

    def __init__(self) -> None:
        self._recording: set[asyncio.Future[None]] = set()

    def emit(self, session: SessionNet, event: Event, outcome: Outcome) -> None:
        """Hand a decided event to the service without making the traffic wait for it
        (a refusal: nothing goes out, so nothing waits on its record)."""
        self._start(session, event, outcome)

    async def record(self, session: SessionNet, event: Event, outcome: Outcome) -> str | None:
        """Hand an allowed event to the service and wait until it is recorded; return why
        it could not be (the traffic must then not go), or None once it is."""
        try:
            result = session.on_event(event, outcome)
            if inspect.isawaitable(result):
                task = asyncio.ensure_future(result)
                self._recording.add(task)  # recorded even if the client goes meanwhile
                task.add_done_callback(self._recording.discard)
                await asyncio.shield(task)
        except NotRecorded as exc:
            return str(exc)
        except Exception:
            logger.exception("the service's event callback failed")
            return "Sandgate could not record this request"
        return None

    def _start(
        self, session: SessionNet, event: Event, outcome: Outcome
    ) -> asyncio.Future[None] | None:
        try:
            result = session.on_event(event, outcome)
        except NotRecorded:
            return None
        except Exception:
            logger.exception("the service's event callback failed")
            return None
        if not inspect.isawaitable(result):
            return None
        task = asyncio.ensure_future(result)
        self._recording.add(task)
        task.add_done_callback(self._recorded)
        return task

    def _recorded(self, task: asyncio.Future[None]) -> None:
        self._recording.discard(task)
        if task.cancelled():
            return
        error = task.exception()
        if error is not None and not isinstance(error, NotRecorded):  # the service logs those
            logger.error("the service's event callback failed", exc_info=error)


def _base_event(session: SessionNet, kind: str) -> Event:
    return {"id": uuid.uuid4().hex, "session": session.id, "kind": kind, "ts": time.time()}


def connect_event(session: SessionNet, host: str, port: int) -> Event:
    """A tunnel (CONNECT, SOCKS5, or a TLS connection) towards `host:port`."""
    return _base_event(session, "net.connect") | {"host": host, "port": port}


def request_event(session: SessionNet, flow: http.HTTPFlow) -> Event:
    """A visible request: method, URL, headers, and its body up to `EVENT_BODY_LIMIT`."""
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
