"""Helpers for the hook tests: recorded payloads, the command line, the queue."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from app.client import connect
from app.paths import Paths

PAYLOADS = Path(__file__).parent / "payloads"
SANDGATE = [sys.executable, "-m", "app.cli"]


def payload(name: str, **changes: Any) -> dict[str, Any]:
    """A recorded payload (tests/hooks/payloads/NAME.json), with some fields changed."""
    data = json.loads((PAYLOADS / f"{name}.json").read_text())
    data.update(changes)
    return dict(data)


def sandgate(*args: str, cwd: Path, stdin: str | None = None, timeout: float = 60) -> Any:
    """Run `sandgate ARGS` as a user would, with this test's HOME and XDG folders."""
    return subprocess.run(
        [*SANDGATE, *args],
        cwd=cwd,
        env=dict(os.environ),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def start_hook(agent: str, data: dict[str, Any], cwd: Path) -> subprocess.Popen[str]:
    """`sandgate hook AGENT` started with `data` on its standard input (it may wait)."""
    process = subprocess.Popen(
        [*SANDGATE, "hook", agent],
        cwd=cwd,
        env=dict(os.environ),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdin is not None
    process.stdin.write(json.dumps(data))
    process.stdin.close()
    return process


def request(paths: Paths, op: str, **fields: Any) -> dict[str, Any]:
    client = connect(paths)
    assert client is not None
    try:
        return client.request(op, **fields)
    finally:
        client.close()


def wait_for_batch(paths: Paths, timeout: float = 20.0) -> dict[str, Any]:
    """The first pending batch in the queue, once there is one."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pending = [b for b in request(paths, "queue")["batches"] if b["state"] == "pending"]
        if pending:
            return dict(pending[0])
        time.sleep(0.05)
    raise AssertionError("no batch came to the queue")


def tool_rows(paths: Paths) -> list[dict[str, Any]]:
    return [r for r in request(paths, "history")["rows"] if r["kind"] == "tool.call"]


def finish(process: subprocess.Popen[str], timeout: float = 20.0) -> tuple[int, str, str]:
    """Wait for a started hook: its exit status, standard output and standard error."""
    assert process.stdout is not None and process.stderr is not None
    code = process.wait(timeout=timeout)
    return code, process.stdout.read(), process.stderr.read()
