"""The socket: privacy, JSON Lines errors, one service per user, the op registry."""

from __future__ import annotations

import os
import socket
import stat
from typing import Any

import pytest

from app.client import ServiceError, connect
from app.paths import Paths
from app.service.runtime import AlreadyRunning, start_in_thread
from app.service.server import Service


def test_ping_answers_with_the_pid(running: Any) -> None:
    with running.client() as client:
        assert client.request("ping") == {"ok": True, "pid": os.getpid()}


def test_socket_is_private(running: Any) -> None:
    assert stat.S_IMODE(running.paths.socket.stat().st_mode) == 0o600
    assert stat.S_IMODE(running.paths.socket.parent.stat().st_mode) == 0o700


def test_bad_lines_get_errors_and_the_connection_survives(running: Any) -> None:
    sock = socket.socket(socket.AF_UNIX)
    sock.connect(str(running.paths.socket))
    reader = sock.makefile("rb")
    hostile = (
        b"[" * 100_000 + b"]" * 100_000 + b"\n",
        b'{"op": "ping", "n": ' + b"9" * 5000 + b"}\n",
    )
    for line in (
        b"{not json\n",
        b"[1, 2]\n",
        b'{"op": 3}\n',
        b'{"op": "nope"}\n',
        b"\xff\n",
        *hostile,
    ):
        sock.sendall(line)
        reply = reader.readline()
        assert b'"ok":false' in reply and b'"error"' in reply, (line, reply)
    sock.sendall(b'{"op": "ping"}\n')
    assert b'"ok":true' in reader.readline()
    sock.close()


def test_wrong_field_types_are_refused_by_name(running: Any) -> None:
    with running.client() as client:
        with pytest.raises(ServiceError, match="'workspace'"):
            client.request("session.open", workspace=5, command=["true"])
        with pytest.raises(ServiceError, match="missing field 'session'"):
            client.request("session.close")
        assert client.request("ping")["ok"]


def test_a_second_service_is_refused(running: Any) -> None:
    with pytest.raises(AlreadyRunning):
        start_in_thread(running.paths, triage=running.triage, extensions=())
    with running.client() as client:  # the first one is untouched
        assert client.request("ping")["ok"]


def test_a_stale_socket_does_not_block_a_new_service(paths: Paths, triage: Any) -> None:
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(str(paths.socket))
    stale.close()
    assert connect(paths) is None
    thread = start_in_thread(paths, triage=triage, extensions=())
    try:
        client = connect(paths)
        assert client is not None
        assert client.request("ping")["ok"]
        client.close()
    finally:
        thread.stop()
    assert not paths.socket.exists()


def test_register_adds_ops_and_refuses_duplicates(tmp_path) -> None:  # type: ignore[no-untyped-def]
    service = Service(tmp_path / "s.sock")

    async def queue(_request: dict) -> dict:  # type: ignore[type-arg]
        return {"batches": []}

    service.register("queue", queue)
    assert "queue" in service.ops
    with pytest.raises(ValueError):
        service.register("queue", queue)


def test_an_oversized_line_is_refused_and_the_service_carries_on(running: Any) -> None:
    from app.service.server import LINE_LIMIT

    sock = socket.socket(socket.AF_UNIX)
    sock.connect(str(running.paths.socket))
    reader = sock.makefile("rb")
    sock.sendall(b'{"op": "ping", "pad": "' + b"x" * (LINE_LIMIT + 10) + b'"}\n')
    assert b"too long" in reader.readline()
    sock.close()
    with running.client() as client:
        assert client.request("ping")["ok"]


def test_many_clients_at_once(running: Any) -> None:
    from concurrent.futures import ThreadPoolExecutor

    def pings(_: int) -> int:
        with running.client() as client:
            return sum(client.request("ping")["ok"] for _ in range(20))

    with ThreadPoolExecutor(max_workers=30) as pool:
        assert sum(pool.map(pings, range(60))) == 60 * 20
