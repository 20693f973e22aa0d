"""The tray application: assembled in `run()`, from the paths `main()` resolved.

The tray reaches the service only through its socket, like every command: if none is
running it starts one in a process of its own (`app.service_process`), and `sandgate
run` in any terminal then finds that one. Without a system tray the inbox opens instead.
"""

from __future__ import annotations

import gc
import signal
import subprocess
import sys
from dataclasses import dataclass
from typing import IO

from PySide6.QtCore import QElapsedTimer, QTimer
from PySide6.QtWidgets import QApplication, QSystemTrayIcon

from app.paths import Paths
from app.service_process import spawn
from app.settings import Settings, SettingsError, load_settings
from app.trust.saving import PolicyFiles
from app.ui import instance
from app.ui.bridge import Bridge
from app.ui.history_window import HistoryOpener
from app.ui.inbox import InboxWindow
from app.ui.inbox_controller import InboxController
from app.ui.notify import Notifier
from app.ui.rows import State
from app.ui.tray import StartAtLogin, TrayController
from app.ui.trust_open import TrustOpener


@dataclass
class TrayApp:
    """Everything one tray process holds, for `run()` and for tests."""

    paths: Paths
    bridge: Bridge
    window: InboxWindow
    inbox: InboxController
    tray: QSystemTrayIcon | None
    tray_controller: TrayController | None
    notifier: Notifier
    server: instance.InstanceServer
    started: subprocess.Popen[bytes] | None  # the service process this tray started

    def open_inbox(self, key: str | None = None) -> None:
        if key is not None:
            self.inbox.open_item(key)
        else:
            self.window.show()
            self.window.raise_()
            self.window.activateWindow()

    def sessions_kept(self) -> int:
        """Sessions that keep the service this tray started running after it quits."""
        if self.started is None or self.started.poll() is not None:
            return 0
        return len(self.bridge.last.sessions)

    def quit(self) -> None:
        """Quit the tray; a service it started stays while sessions need it (it stops by
        itself once they end) and stops now if none does."""
        self.window.hide()
        if self.tray is not None:
            self.tray.hide()
        kept = self.sessions_kept()
        self.bridge.stop()
        self.notifier.close()
        self.server.close()
        if kept:
            print(
                f"sandgate: the tray closed; its service keeps running for the "
                f"{kept} open session(s) and stops when they end",
                file=sys.stderr,
                flush=True,
            )
        else:
            self.stop_started()
        QApplication.quit()

    def stop_started(self) -> None:
        """Stop the service this tray started (it records what it has, then exits)."""
        if self.started is not None and self.started.poll() is None:
            self.started.terminate()
            try:
                self.started.wait(15)
            except subprocess.TimeoutExpired:
                self.started.kill()
        self.started = None


QUIET_MS = 3000  # the stream quiet this long: a pause is in nobody's way
SMALL_INBOX = 1000  # members listed: below it, a full collection is a few milliseconds


def tune_memory(bridge: Bridge) -> QTimer:
    """Keep the interpreter from stalling the GUI thread; returns the timer to keep.

    A full collection of the cyclic garbage collector walks every object of the process
    while holding the interpreter: with 10,000 requests waiting (their rows, and the
    service's own futures when it runs in here) that is 90-250 ms, measured, whether
    the stream is busy or not. So full collections are never automatic here. What
    start-up made is frozen out of them (modules and classes live as long as the
    process), and the rest is collected only when the stream has been quiet for a
    while and the inbox is small, where the walk is short. Younger generations still
    collect as usual; cyclic garbage that grew old waits for the inbox to empty.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(700, 10, 1 << 30)
    # Each call from Qt into Python (a model's data(), a slot) waits for the
    # interpreter; with the service's threads busy in this process that wait is up to
    # the switch interval, per call. A shorter interval keeps the GUI's calls prompt.
    sys.setswitchinterval(0.001)
    quiet = QElapsedTimer()
    quiet.start()
    listed = [0]

    def seen(state: State) -> None:
        quiet.restart()
        listed[0] = sum(len(b.members) for b in state.batches)

    bridge.state.connect(seen)

    def collect_when_quiet() -> None:
        if quiet.elapsed() > QUIET_MS and listed[0] < SMALL_INBOX:
            gc.collect()

    timer = QTimer()
    timer.timeout.connect(collect_when_quiet)
    timer.start(20_000)
    return timer


def build(paths: Paths, *, use_tray: bool | None = None) -> TrayApp:
    """Create the tray's parts (a QApplication must exist) and start watching."""
    client, started = spawn(paths)
    client.close()
    bridge = Bridge(paths)
    window = InboxWindow()
    inbox = InboxController(window, bridge)
    available = QSystemTrayIcon.isSystemTrayAvailable()
    # The icon is made even when no tray is there yet (a panel started after us at
    # login): Qt docks it once one appears. Tests pass use_tray=False for none at all.
    tray = QSystemTrayIcon() if use_tray is not False else None
    notifier = Notifier(tray)
    holder: list[TrayApp] = []
    server = instance.InstanceServer(paths, lambda: holder[0].open_inbox(None))
    app = TrayApp(paths, bridge, window, inbox, tray, None, notifier, server, started)
    holder.append(app)
    notifier.clicked.connect(app.open_inbox)
    bridge.changes.connect(notifier.changes)
    if tray is not None:
        app.tray_controller = TrayController(
            tray, bridge, app.open_inbox, app.quit, app.sessions_kept, login=StartAtLogin(paths)
        )
        try:  # read again: the service may be another process, started before an edit
            settings = load_settings(paths)
        except SettingsError as exc:
            print(f"sandgate: {exc}; the history window uses the defaults", file=sys.stderr)
            settings = Settings()
        files = PolicyFiles.of(paths.user_policy)
        app.tray_controller.open_history = HistoryOpener(
            settings.database(paths), settings.retention_days, files
        ).open
        app.tray_controller.open_trust = TrustOpener(paths, files, bridge).open
        tray.show()
    if tray is None or not available:
        window.show()  # no system tray on this desktop: the inbox is the way in
    bridge.start()
    return app


def run(paths: Paths) -> int:
    """`sandgate` / `sandgate tray`: the tray, or a hand-over to the one running."""
    lock = instance.acquire(paths)
    if lock is None:
        if instance.hand_over(paths):
            print("sandgate: the tray is already running; its inbox is in front now")
            return 0
        print("sandgate: a tray is running but did not answer", file=sys.stderr)
        return 1
    return _serve(paths, lock)


def _serve(paths: Paths, lock: IO[bytes]) -> int:
    qt = QApplication.instance() or QApplication([sys.argv[0]])
    assert isinstance(qt, QApplication)
    qt.setApplicationName("Sandgate")
    qt.setQuitOnLastWindowClosed(False)
    app = build(paths)
    collector = tune_memory(app.bridge)  # noqa: F841 - kept alive while the loop runs
    # SIGINT and SIGTERM quit cleanly (the service it started stops with it); the timer
    # lets Python run its signal handlers while Qt's loop waits.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: qt.quit())
    wake = QTimer()
    wake.timeout.connect(lambda: None)
    wake.start(250)
    if app.tray is None or not QSystemTrayIcon.isSystemTrayAvailable():
        print(
            "sandgate: no system tray on this desktop; the inbox window is open instead",
            file=sys.stderr,
            flush=True,
        )
    code = qt.exec()
    if app.sessions_kept() == 0:  # SIGINT/SIGTERM: no session needs it any more
        app.stop_started()
    app.bridge.stop()
    lock.close()
    return code
