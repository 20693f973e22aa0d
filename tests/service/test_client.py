"""The stdlib client: finding a service, or starting one inside this process."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

from app.client import connect, connect_or_start
from app.paths import Paths


def test_connect_finds_nothing_when_no_service_runs(paths: Paths) -> None:
    assert connect(paths) is None


def test_connect_or_start_uses_the_running_service(running: Any) -> None:
    with connect_or_start(running.paths) as client:
        assert client.request("ping")["pid"] == os.getpid()
    assert running.sandbox.opened == []


def test_connect_or_start_starts_one_in_this_process(paths: Paths) -> None:
    with connect_or_start(paths) as client:
        assert client.request("ping")["pid"] == os.getpid()
        assert client.embedded is not None
    client.embedded.stop()
    assert paths.database.exists()
    assert connect(paths) is None


def test_the_client_imports_nothing_heavy() -> None:
    code = (
        "import sys, app.client, app.paths\n"
        "heavy = [m for m in ('sqlalchemy', 'watchdog', 'yaml', 'triage', 'sandbox',"
        " 'platformdirs', 'app.service') if m in sys.modules]\n"
        "print(heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
