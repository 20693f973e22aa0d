"""The service's socket: JSON Lines requests, dispatched through an op registry.

`Service` knows nothing about sessions or the database. Parts of the service add their
operations with `register(op, handler)`; a handler takes the request object and returns
the fields of a successful response, or raises `RequestError` for an `ok: false` one.
A bad line gets an error response and the connection carries on.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import logging
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

Request = dict[str, Any]
Handler = Callable[[Request], Awaitable[dict[str, Any]]]

LINE_LIMIT = 8 * 1024 * 1024  # a session.open carries the caller's environment


class Connection:
    """One client connection. A handler finds it with `current_connection.get()` and may
    ask to be told when it ends (a `sandgate run` that died without closing its session)."""

    def __init__(self) -> None:
        self._on_close: list[Callable[[], Awaitable[None]]] = []
        self.streaming: Callable[[asyncio.StreamWriter], Awaitable[None]] | None = None

    def stream(self, pump: Callable[[asyncio.StreamWriter], Awaitable[None]]) -> None:
        """After this reply the connection is one-way: `pump` writes to it until it
        returns or the client closes (the `watch` op). Requests are no longer read."""
        self.streaming = pump

    def on_close(self, callback: Callable[[], Awaitable[None]]) -> None:
        self._on_close.append(callback)

    async def closed(self) -> None:
        for callback in self._on_close:
            try:
                await callback()
            except Exception:
                log.exception("clean-up after a closed connection failed")


current_connection: contextvars.ContextVar[Connection] = contextvars.ContextVar(
    "current_connection"
)


class RequestError(Exception):
    """A request the service refuses; the message goes back to the caller."""


def field(request: Request, name: str, kind: type | tuple[type, ...], default: Any = ...) -> Any:
    """The field `name` of `request`, checked against `kind`; missing means `default`."""
    if name not in request or request[name] is None:
        if default is ...:
            raise RequestError(f"{request.get('op')}: missing field {name!r}")
        return default
    value = request[name]
    if not isinstance(value, kind) or (isinstance(value, bool) and bool not in _tuple(kind)):
        raise RequestError(f"{request.get('op')}: field {name!r} has the wrong type")
    return value


def _tuple(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


class Service:
    """Listens on a Unix socket (0600) and answers requests with registered handlers."""

    def __init__(self, socket_path: Path) -> None:
        self.socket_path = socket_path
        self._handlers: dict[str, Handler] = {}
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.StreamWriter] = set()
        self._serving: set[asyncio.Task[Any]] = set()
        self.register("ping", self._ping)

    def register(self, op: str, handler: Handler) -> None:
        """Answer requests with `op` through `handler`. Each op has one handler."""
        if op in self._handlers:
            raise ValueError(f"operation {op!r} is already registered")
        self._handlers[op] = handler

    @property
    def ops(self) -> list[str]:
        return sorted(self._handlers)

    async def start(self) -> None:
        """Bind the socket. The folder must already be private (Paths.ensure)."""
        self.socket_path.unlink(missing_ok=True)  # stale: the caller holds the instance lock
        self._server = await asyncio.start_unix_server(
            self._serve, path=str(self.socket_path), limit=LINE_LIMIT
        )
        os.chmod(self.socket_path, 0o600)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for writer in list(self._connections):  # clients still connected see EOF
                writer.close()
            # Let each connection's handler see its end and run its clean-up (a watch
            # stream ends here); left to the loop's shutdown, they would be cancelled
            # mid-read and logged as errors.
            if self._serving:
                await asyncio.wait(list(self._serving), timeout=5)
            await self._server.wait_closed()
            self._server = None
        self.socket_path.unlink(missing_ok=True)

    async def dispatch(self, line: bytes) -> dict[str, Any]:
        """The response to one request line."""
        try:
            request = json.loads(line)
        except (ValueError, UnicodeDecodeError) as exc:  # a 5,000-digit number is one too
            return {"ok": False, "error": f"not a JSON line: {exc}"}
        except RecursionError:
            return {"ok": False, "error": "not a JSON line: nested too deeply"}
        if not isinstance(request, dict) or not isinstance(request.get("op"), str):
            return {"ok": False, "error": "a request is a JSON object with a string 'op'"}
        handler = self._handlers.get(request["op"])
        if handler is None:
            return {"ok": False, "error": f"unknown op {request['op']!r}"}
        try:
            fields = await handler(request)
        except RequestError as exc:
            return {"ok": False, "error": str(exc)}
        except Exception as exc:
            log.exception("op %s failed", request["op"])
            return {"ok": False, "error": f"{request['op']} failed: {exc}"}
        return {"ok": True, **fields}

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._connections.add(writer)
        task = asyncio.current_task()
        if task is not None:
            self._serving.add(task)
            task.add_done_callback(self._serving.discard)
        connection = Connection()
        current_connection.set(connection)  # this task's own context
        try:
            while True:
                try:
                    line = await reader.readline()
                except ValueError:  # longer than LINE_LIMIT: the stream is out of step now
                    await self._reply(writer, {"ok": False, "error": "request line too long"})
                    break
                if not line:
                    break
                if not line.strip():
                    continue
                await self._reply(writer, await self.dispatch(line))
                if connection.streaming is not None:
                    await self._stream(reader, writer, connection.streaming)
                    break
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self._connections.discard(writer)
            writer.close()
            await connection.closed()

    @staticmethod
    async def _stream(
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        pump: Callable[[asyncio.StreamWriter], Awaitable[None]],
    ) -> None:
        """Run `pump` until it ends or the client hangs up (anything it sends is ignored)."""

        async def until_eof() -> None:
            while await reader.read(65536):
                pass

        tasks = {asyncio.ensure_future(pump(writer)), asyncio.ensure_future(until_eof())}
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    @staticmethod
    async def _reply(writer: asyncio.StreamWriter, response: dict[str, Any]) -> None:
        writer.write(json.dumps(response, separators=(",", ":")).encode() + b"\n")
        await writer.drain()

    async def _ping(self, _request: Request) -> dict[str, Any]:
        return {"pid": os.getpid()}
