"""The macOS sandbox's refusals, read from the system log, become the session's events.

Run here with a stand-in for `log stream` (a script that prints recorded-looking lines
once the session is open), through the real service, the real triage and the store.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

from app.client import connect
from app.service.runtime import default_triage, start_in_thread
from app.service.system_log import SystemLog

STREAM = """
import os, sys, time
tag, trigger = sys.argv[1], sys.argv[2]
while not os.path.exists(trigger):
    time.sleep(0.02)
for line in (
    f"Sandbox: cat(4242) deny(1) file-read-data /Users/ann/.aws/credentials {tag}",
    f"Sandbox: ls(4243) deny(1) file-read-metadata /Users/ann/Documents {tag}",
    f"Sandbox: curl(4244) deny(1) network-outbound 93.184.216.34:443 {tag}",
    "Sandbox: cat(1) deny(1) file-read-data /Users/ann/.ssh/id_rsa sandgate-someoneelse",
):
    print(line, flush=True)
time.sleep(60)
"""


def test_refusals_in_the_system_log_are_recorded_and_ranked(
    paths: Any, sandbox: Any, workspace: Path, resources: Path, tmp_path: Path
) -> None:
    trigger = tmp_path / "agent-started"
    thread = start_in_thread(paths, sandbox=sandbox, triage=default_triage(resources))
    try:
        assert thread.runtime is not None
        parts = thread.runtime.parts
        tags: list[str] = []

        def argv_for(tag: str) -> list[str]:
            tags.append(tag)
            return [sys.executable, "-c", STREAM, tag, str(trigger)]

        parts.sessions.hooks.append(SystemLog(parts, argv_for))
        client = connect(paths)
        assert client is not None
        with client:
            opened = client.request(
                "session.open", workspace=str(workspace), command=["agent"],
                env={"HOME": "/h"}, agent="claude-code",
            )  # fmt: skip
            session = opened["session"]
            trigger.touch()  # the agent runs: the kernel starts refusing
            deadline = time.monotonic() + 10
            rows: list[dict[str, Any]] = []
            while len(rows) < 2 and time.monotonic() < deadline:
                rows = [r for r in client.request("history", session=session)["rows"]
                        if r["kind"] in ("file.read", "net.connect")]  # fmt: skip
                time.sleep(0.05)
            client.request("session.close", session=session)
        # The stream was this session's, by the tag its profile carries.
        assert tags and tags[0].startswith("sandgate-")
        by_kind = {r["kind"]: r for r in rows}
        assert set(by_kind) == {"file.read", "net.connect"}, rows
        read = by_kind["file.read"]
        assert read["path"] == "/Users/ann/.aws/credentials" and read["band"] == "high", read
        assert "cred.read" in json.dumps(read["reasons"])
        assert by_kind["net.connect"]["host"] == "93.184.216.34"
        # Nothing of another session's tag, and no stat, became an event.
        assert len(rows) == 2
    finally:
        thread.stop()
