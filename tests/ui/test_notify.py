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
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from app.ui import rows
from app.ui.notify import UPDATE_S, Notifier

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
        qtbot.waitUntil(lambda: len(self.poll()) >= count, timeout=10000)
        return self.seen

    def poll(self) -> list[dict[str, Any]]:
        """What the server has shown so far, without waiting."""
        import select

        assert self.proc.stdout is not None
        while select.select([self.proc.stdout], [], [], 0)[0]:
            line = self.proc.stdout.readline()
            if not line:
                break
            self.seen.append(json.loads(line))
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


def test_a_burst_of_joins_is_one_notification_each_updated_at_most_once_a_second(
    server: Server, qtbot
) -> None:
    """A thousand requests a second must not start a thousand notify-send processes:
    joins to five batches not yet announced are one notification, and the count of
    joins to an announced batch reaches it at most once a second, the last one too."""
    notifier = Notifier(None)
    try:
        fresh = [replace(_batch("low", 2), batch=f"b{n}") for n in range(5)]
        notifier.changes(
            tuple(rows.Change("batch.joined", n, batch=b) for n, b in enumerate(fresh))
        )
        [together] = server.read(1, qtbot)
        assert together["body"].startswith("requests joined 5 batches")
        first = _batch("low", 1)
        notifier.changes((rows.Change("batch.added", 10, batch=first),))
        server.read(2, qtbot)
        started = time.monotonic()
        for n in range(2, 32):
            notifier.changes((rows.Change("batch.joined", 10 + n, batch=_batch("low", n)),))
        qtbot.waitUntil(lambda: server.poll()[-1]["body"].endswith("30 more requests joined"),
                        timeout=5000)  # fmt: skip
        elapsed = time.monotonic() - started
        assert len(server.seen) <= 2 + 1 + int(elapsed / UPDATE_S), "updates were not held back"
    finally:
        notifier.close()
