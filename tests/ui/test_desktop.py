"""End to end on a real X server: Xvfb, trayer as the system tray, the tray started as
a user starts it, a real `sandgate run` session asking for an unknown destination, the
icon changing state, the request decided in the inbox by simulated keys, and the
agent's request released."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.proxy.conftest import RecordingServer
from tests.ui.desktop import desktop, require_programs, screenshot

ROOT = Path(__file__).resolve().parents[2]
WAITING = (0xF9, 0xA8, 0x25)


def _count(png: Path, colour: tuple[int, int, int], top: int = 40) -> int:
    """Pixels of `colour` in the top strip of the screen (where trayer sits)."""
    from PySide6.QtGui import QImage

    image = QImage(str(png))
    found = 0
    for y in range(min(top, image.height())):
        for x in range(image.width() - 300, image.width()):
            c = image.pixelColor(x, y)
            if (
                abs(c.red() - colour[0]) + abs(c.green() - colour[1]) + abs(c.blue() - colour[2])
                < 40
            ):
                found += 1
    return found


@pytest.mark.timeout(180)
def test_a_request_decided_from_the_tray_inbox_with_keys(paths, tmp_path: Path, qapp) -> None:
    require_programs()
    server = RecordingServer()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    paths.user_policy.write_text(
        "version: 1\n"
        "network:\n"
        "  resolve: {outside.test: 127.0.0.1}\n"
        f"  allow: ['127.0.0.1:{server.port}']\n"
        "  ask_timeout: 60\n"
    )
    workspace = tmp_path / "project"
    workspace.mkdir()
    with desktop() as display:
        env = {**os.environ, "DISPLAY": display}
        env.pop("QT_QPA_PLATFORM", None)
        # The tray as a user starts it: `sandgate` with no arguments, on its own bus.
        tray = subprocess.Popen(
            ["dbus-run-session", "--", sys.executable, "-m", "app.cli"],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            start_new_session=True,  # its own group: the bus ends with the tray
        )  # fmt: skip
        agent = None
        try:
            deadline = time.monotonic() + 30
            while not paths.socket.exists() and time.monotonic() < deadline:
                time.sleep(0.1)
            assert paths.socket.exists(), "the tray did not start a service"
            time.sleep(1.5)
            before = _count(screenshot(display, tmp_path / "before.png"), WAITING)
            agent = subprocess.Popen(
                [sys.executable, "-m", "app.cli", "run", "--", "curl", "-sS",
                 f"http://outside.test:{server.port}/from-the-agent"],
                cwd=workspace, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                text=True,
            )  # fmt: skip
            after = 0
            deadline = time.monotonic() + 40
            while time.monotonic() < deadline:
                after = _count(screenshot(display, tmp_path / "waiting.png"), WAITING)
                if after > 20:
                    break
                time.sleep(0.5)
            assert before < 5 < after, f"the icon did not turn to waiting ({before} -> {after})"
            # A second start brings the inbox forward, as clicking the icon would.
            second = subprocess.run(
                [sys.executable, "-m", "app.cli"], cwd=ROOT, env=env, capture_output=True,
                text=True, timeout=30,
            )  # fmt: skip
            assert second.returncode == 0, second.stderr
            found = subprocess.run(
                ["xdotool", "search", "--sync", "--onlyvisible", "--name", "Sandgate inbox"],
                env=env, capture_output=True, text=True, timeout=20,
            )  # fmt: skip
            window = found.stdout.split()[0]
            subprocess.run(["xdotool", "windowfocus", "--sync", window], env=env, timeout=10)
            time.sleep(1.0)  # past any guard time of a risky band
            subprocess.run(["xdotool", "key", "--clearmodifiers", "a"], env=env, timeout=10)
            out, err = agent.communicate(timeout=40)
            assert f"hello from outside.test:{server.port} /from-the-agent" in out, err
            assert "/from-the-agent" in server.paths()
        finally:
            if agent is not None and agent.poll() is None:
                agent.kill()
            # dbus-run-session does not pass SIGTERM on: the whole group is told.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(tray.pid, signal.SIGTERM)
            try:
                tray.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(tray.pid, signal.SIGKILL)
            server.shutdown()
            server.server_close()
