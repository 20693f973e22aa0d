"""Desktop notifications through a private D-Bus (never the real one) and a test
notification server on it: what is announced, how repeats fold, what a click does."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.ui import rows
from app.ui.notify import Notifier

HERE = Path(__file__).resolve().parent


def _batch(band: str, n: int, host: str = "pypi.org") -> rows.Batch:
    members = tuple(
        rows.Member(f"e{i}", "s1", "net.request", f"GET https://{host}/{i}", 10, band, (), True)
        for i in range(n)
    )
    return rows.Batch("b1" if band != "critical" else "b9", "sig", "pending", band, 10, 0.0,
                      members)  # fmt: skip


class Server:
    def __init__(self, proc: subprocess.Popen) -> None:
        self.proc = proc
        self.seen: list[dict[str, Any]] = []

    def read(self, count: int, qtbot: Any) -> list[dict[str, Any]]:
        import select

        def more() -> bool:
            assert self.proc.stdout is not None
            while select.select([self.proc.stdout], [], [], 0)[0]:
                line = self.proc.stdout.readline()
                if not line:
                    break
                self.seen.append(json.loads(line))
            return len(self.seen) >= count

        qtbot.waitUntil(more, timeout=10000)
        return self.seen

    def click(self, ident: int) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(f"click {ident}\n")
        self.proc.stdin.flush()


@pytest.fixture
def server(isolated_env: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Server]:
    if shutil.which("dbus-run-session") is None or shutil.which("notify-send") is None:
        pytest.skip("needs dbus-run-session and notify-send (packaging/install.sh)")
    proc = subprocess.Popen(
        ["dbus-run-session", "--", sys.executable, str(HERE / "notification_server.py")],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1,
        start_new_session=True,  # its own group: the bus and the server end together
    )  # fmt: skip
    assert proc.stdout is not None
    address = json.loads(proc.stdout.readline())["address"]
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", address)  # the private bus only
    yield Server(proc)
    # dbus-run-session does not pass SIGTERM on: the server would outlive the test.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    proc.wait(10)


def test_a_waiting_batch_is_announced_repeats_fold_and_a_click_opens_it(
    server: Server, qtbot
) -> None:
    notifier = Notifier(None)
    assert notifier.program is not None
    opened: list[str] = []
    notifier.clicked.connect(opened.append)
    try:
        first = _batch("low", 1)
        notifier.changes((rows.Change("batch.added", 1, batch=first),))
        [shown] = server.read(1, qtbot)
        assert shown["summary"] == "Sandgate: waiting" and "pypi.org" in shown["body"]
        # Only one action, and it opens the inbox: nothing approves from a notification.
        assert shown["actions"] == ["default", "Open in inbox"]
        qtbot.waitUntil(lambda: notifier.shown["b1"].notification_id is not None)
        for n in range(2, 5):
            notifier.changes((rows.Change("batch.joined", n, batch=_batch("low", n)),))
            server.read(n, qtbot)
        folded = server.seen[-1]
        assert folded["replaces"] == shown["id"], "a repeat replaced the first notification"
        assert folded["body"].endswith("3 more requests joined")
        server.click(shown["id"])
        qtbot.waitUntil(lambda: opened == ["b1"], timeout=5000)
        notifier.changes((rows.Change("batch.added", 5, batch=_batch("critical", 1, "evil.test")),))
        critical = server.read(5, qtbot)[-1]
        assert critical["summary"] == "Sandgate: critical request blocked"
        assert critical["urgency"] == 2
    finally:
        notifier.close()


def test_agent_text_in_a_notification_is_not_markup(server: Server, qtbot) -> None:
    notifier = Notifier(None)
    try:
        notifier.changes((rows.Change("batch.added", 1, batch=_batch("low", 1, "<b>x</b>.test")),))
        [shown] = server.read(1, qtbot)
        assert "<b>" not in shown["body"] and "&lt;b&gt;" in shown["body"]
    finally:
        notifier.close()
