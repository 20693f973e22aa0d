"""A session's own channel: the one way a sandboxed process talks to the service.

The service socket is never bound into a sandbox, since whoever reaches it may decide.
An agent's permission hook runs inside the sandbox, though, and must ask about its
tool calls. So each session gets a Unix socket of its own, bound into its sandbox at
`/run/sandgate/hook.sock`. The connection names the session (as a proxy socket does),
and the channel answers only three operations, each about that session alone:
`ping`, `tool.ask` (hold a tool call until it is decided) and `event` (record an event
of this session). Nothing else is there: no `decide`, no `queue`, no `history`, no
other session's id; a request naming one is refused.

The socket lives in the session's folder, whose path may be longer than a Unix socket
address allows (108 bytes), so it is bound through the folder's file descriptor.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

LINE_LIMIT = 8 * 1024 * 1024  # a tool call's input (a file written whole) can be large

# op -> handler(session, request) -> response fields
ChannelHandler = Callable[[str, dict[str, Any]], Awaitable[dict[str, Any]]]


def bind_unix(path: Path) -> socket.socket:
    """A listening Unix socket at `path` (0600), whatever the length of the path."""
    folder = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path.name, dir_fd=folder)
        sock.bind(f"/proc/self/fd/{folder}/{path.name}")
        os.chmod(path.name, 0o600, dir_fd=folder)
        sock.listen(64)
    except BaseException:
        sock.close()
        raise
    finally:
        os.close(folder)
    sock.setblocking(False)
    return sock


def connect_unix(path: Path) -> socket.socket:
    """A connection to the Unix socket at `path`, whatever the length of the path."""
    folder = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(f"/proc/self/fd/{folder}/{path.name}")
    except BaseException:
        sock.close()
        raise
    finally:
        os.close(folder)
    return sock


class Channel:
    """One session's socket, answering its few operations for that session only."""

    def __init__(self, session: str, path: Path, handlers: dict[str, ChannelHandler]) -> None:
        self.session = session
        self.path = path
        self.handlers = handlers
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_unix_server(
            self._serve, sock=bind_unix(self.path), limit=LINE_LIMIT
        )

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for writer in list(self._writers):
                writer.close()
            await self._server.wait_closed()
            self._server = None
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    async def answer(self, line: bytes) -> dict[str, Any]:
        """The response to one request line arriving on this session's channel."""
        from app.service.server import RequestError

        try:
            request = json.loads(line)
        except (ValueError, UnicodeDecodeError) as exc:
            return {"ok": False, "error": f"not a JSON line: {exc}"}
        if not isinstance(request, dict) or not isinstance(request.get("op"), str):
            return {"ok": False, "error": "a request is a JSON object with a string 'op'"}
        op = request["op"]
        if op == "ping":
            return {"ok": True, "session": self.session}
        handler = self.handlers.get(op)
        if handler is None:
            return {
                "ok": False,
                "error": f"{op!r} is not available on a session's channel "
                f"(only {', '.join(['ping', *sorted(self.handlers)])})",
            }
        named = request.get("session")
        if named is not None and named != self.session:
            return {"ok": False, "error": "a session's channel speaks for that session only"}
        try:
            fields = await handler(self.session, request)
        except RequestError as exc:
            return {"ok": False, "error": str(exc)}
        except Exception as exc:
            log.exception("channel op %s failed", op)
            return {"ok": False, "error": f"{op} failed: {exc}"}
        return {"ok": True, **fields}

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            while True:
                try:
                    line = await reader.readline()
                except ValueError:
                    await _reply(writer, {"ok": False, "error": "request line too long"})
                    break
                if not line:
                    break
                if line.strip():
                    await _reply(writer, await self.answer(line))
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self._writers.discard(writer)
            writer.close()


async def _reply(writer: asyncio.StreamWriter, response: dict[str, Any]) -> None:
    writer.write(json.dumps(response, separators=(",", ":")).encode() + b"\n")
    await writer.drain()
