"""The tray as a process: no system tray, a second start, a service that dies and comes
back, no display at all."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.paths import Paths
from app.ui.icons import state_of
from tests.ui.conftest import Service

ROOT = Path(__file__).resolve().parents[2]


def _sandgate(*args: str, env: dict[str, str] | None = None, **kw) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "app.cli", *args], cwd=ROOT, env=env or dict(os.environ),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw,
    )  # fmt: skip


def test_without_a_system_tray_the_inbox_opens_and_the_app_keeps_running(
    service: Service, qtbot
) -> None:
    from PySide6.QtWidgets import QSystemTrayIcon

    from app.ui.app import build

    assert not QSystemTrayIcon.isSystemTrayAvailable()  # offscreen has none
    app = build(service.paths)
    qtbot.addWidget(app.window)
    try:
        assert app.window.isVisible(), "with no system tray the inbox is the way in"
        app.window.close()
        qtbot.wait(50)
        assert app.bridge._reader is not None and app.bridge._reader.is_alive()
    finally:
        app.bridge.stop()
        app.server.close()


def test_a_second_start_brings_the_first_inbox_forward_and_exits_0(service: Service, qtbot) -> None:
    from app.ui import instance
    from app.ui.app import build

    lock = instance.acquire(service.paths)
    assert lock is not None
    app = build(service.paths, use_tray=False)
    qtbot.addWidget(app.window)
    app.window.hide()
    try:
        second = _sandgate("tray")
        # Let the event loop answer while the second process asks.
        qtbot.waitUntil(lambda: second.poll() is not None, timeout=20000)
        out, err = second.communicate()
        assert second.returncode == 0, err
        assert "already running" in out
        qtbot.waitUntil(app.window.isVisible, timeout=2000)
        assert instance.acquire(service.paths) is None
    finally:
        app.bridge.stop()
        app.server.close()
        lock.close()


@pytest.mark.parametrize("command", [(), ("start",)], ids=["sandgate", "sandgate start"])
def test_with_no_display_it_says_so_and_runs_the_headless_service(
    paths: Paths, command: tuple[str, ...]
) -> None:
    """`sandgate` alone and `sandgate start` are the same main job: the tray, or here
    (no display) the headless service."""
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env.pop("QT_QPA_PLATFORM", None)
    proc = _sandgate(*command, env=env)
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert "no display" in first and "sandgate queue" in first and "sandgate decide" in first
        assert "service listening" in proc.stdout.readline()
        assert (
            subprocess.run(
                [sys.executable, "-m", "app.cli", "queue"], cwd=ROOT, env=env, capture_output=True
            ).returncode
            == 0
        )
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(20)


@pytest.mark.timeout(90)
def test_the_tray_shows_a_dead_service_and_reconnects_by_itself(paths: Paths, qtbot) -> None:
    from app.ui.bridge import Bridge

    service = _sandgate("service")
    bridge = Bridge(paths)
    seen: list = []
    bridge.state.connect(seen.append)
    replies: list = []
    bridge.replied.connect(replies.append)
    try:
        assert service.stdout is not None and "listening" in service.stdout.readline()
        bridge.start()
        qtbot.waitUntil(lambda: bool(seen) and seen[-1].connected, timeout=10000)
        service.kill()  # not a clean stop: the socket just goes away
        service.wait(10)
        qtbot.waitUntil(lambda: not seen[-1].connected, timeout=10000)
        assert seen[-1].stale and state_of(seen[-1]) == "down"
        # A decision asked while it is down is reported as not sent, never kept to resend.
        bridge.request("decide", batch="b1", decision="allow")
        qtbot.waitUntil(lambda: bool(replies), timeout=5000)
        assert not replies[0].ok and replies[0].error.startswith("not sent")
        restarted = _sandgate("service")
        assert restarted.stdout is not None and "listening" in restarted.stdout.readline()
        try:
            qtbot.waitUntil(lambda: seen[-1].connected, timeout=15000)
            assert not seen[-1].stale
            time.sleep(0.3)
            assert len(replies) == 1, "a decision was sent again after reconnecting"
        finally:
            restarted.terminate()
            restarted.wait(20)
    finally:
        bridge.stop()
        if service.poll() is None:
            service.kill()


def test_quitting_keeps_the_service_it_started_while_sessions_need_it(
    paths: Paths, tmp_path: Path, qtbot, capfd
) -> None:
    from app.client import connect
    from app.ui.app import build

    app = build(paths, use_tray=False)  # no service runs: the tray starts one apart
    started = app.started
    assert started is not None and started.poll() is None
    qtbot.addWidget(app.window)
    session = connect(paths)
    assert session is not None
    try:
        project = tmp_path / "project"
        project.mkdir()
        session.request("session.open", workspace=str(project), command=["true"],
                        env=dict(os.environ))  # fmt: skip
        qtbot.waitUntil(lambda: app.sessions_kept() == 1, timeout=5000)
        app.quit()
        assert not app.window.isVisible()
        assert "keeps running for the 1 open session" in capfd.readouterr().err
        with connect(paths) as other:  # the service still answers other terminals
            assert other.request("ping")["ok"]
        assert started.poll() is None
    finally:
        session.close()  # the session ends: nothing needs the service any more
    started.wait(30)
    assert connect(paths) is None, "the service stopped once no session needed it"
    assert "no session and no tray" in (paths.state / "service.log").read_text()


def test_quitting_with_no_session_stops_the_service_it_started(paths: Paths, qtbot) -> None:
    from app.client import connect
    from app.ui.app import build

    app = build(paths, use_tray=False)
    started = app.started
    assert started is not None
    qtbot.addWidget(app.window)
    app.quit()
    assert started.poll() is not None and connect(paths) is None


def test_a_service_that_cannot_start_says_why(paths: Paths) -> None:
    from app.client import ServiceError
    from app.service_process import spawn

    paths.ensure()
    (paths.config / "config.yaml").write_text("database_url: [unclosed\n")
    with pytest.raises(ServiceError, match=r"did not start: .*config\.yaml"):
        spawn(paths)
