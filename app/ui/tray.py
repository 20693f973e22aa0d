"""The tray icon and its menu, rebuilt each time it opens.

The icon and tooltip follow the service's state (idle, sessions running, waiting with
the count, critical waiting, paused, service down). The menu lists the top pending
batches, the running sessions, pause and resume, the inbox, the history, the
trusted-paths editor, and quit.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction, QGuiApplication
from PySide6.QtWidgets import QMenu, QSystemTrayIcon

from app.paths import Paths
from app.ui.bridge import Bridge
from app.ui.icons import icon, state_of
from app.ui.inbox_rows import inbox_rows
from app.ui.rows import State
from app.ui.text import duration, short, visible

TOP_BATCHES = 5
PAUSES = (("Pause asking for 15 min", 15 * 60), ("Pause asking for 1 h", 3600))


def dark_panel() -> bool:
    """Is the panel dark? Judged from the desktop's palette (no panel API exists)."""
    window = QGuiApplication.palette().window().color()
    return window.lightness() < 128


def tooltip(state: State, now: float) -> str:
    """The icon's facts in words."""
    if not state.connected:
        return "Sandgate: the service is down, reconnecting (the inbox shows the last state)"
    lines = []
    if state.recording_failed is not None:
        lines.append(f"Sandgate: {state.recording_failed}")
    waiting = state.waiting
    if state.critical_waiting:
        lines.append(f"Sandgate: a critical request is blocked ({waiting} waiting)")
    elif waiting:
        lines.append(f"Sandgate: {waiting} request{'s' if waiting != 1 else ''} waiting")
    else:
        lines.append("Sandgate: nothing waiting")
    lines.append(f"{len(state.sessions)} session{'s' if len(state.sessions) != 1 else ''} running")
    if state.paused is not None:
        until = state.paused.until
        lines.append(
            "asking paused until resumed (unknown requests are denied)"
            if until is None
            else f"asking paused for {duration(until - now)} (unknown requests are denied)"
        )
    return "\n".join(lines)


class TrayController(QObject):
    def __init__(
        self,
        tray: QSystemTrayIcon,
        bridge: Bridge,
        open_inbox: Callable[[str | None], None],
        quit_: Callable[[], None],
        sessions_kept: Callable[[], int],
        clock: Callable[[], float] = time.time,
        login: StartAtLogin | None = None,
    ) -> None:
        super().__init__(tray)
        self.login = login
        self.tray = tray
        self.bridge = bridge
        self.open_inbox = open_inbox
        self.quit = quit_
        self.sessions_kept = sessions_kept
        self.clock = clock
        self.open_history: Callable[[], None] | None = None  # set when a history exists
        self.open_trust: Callable[[], None] | None = None  # the trusted-paths editor
        self.state = State()
        self.menu = QMenu()
        self.menu.aboutToShow.connect(self.rebuild)
        tray.setContextMenu(self.menu)
        tray.activated.connect(self._activated)
        bridge.state.connect(self.show_state)
        self.show_state(State())
        self.rebuild()

    def show_state(self, state: State) -> None:
        self.state = state
        kind = state_of(state)
        self.kind = kind
        self.tray.setIcon(icon(kind, state.waiting, dark_panel=dark_panel()))
        self.tray.setToolTip(tooltip(state, self.clock()))

    def _activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason == QSystemTrayIcon.ActivationReason.Trigger:
            self.open_inbox(None)

    def rebuild(self) -> None:
        """Fill the menu from the state as it is now."""
        menu, state, now = self.menu, self.state, self.clock()
        menu.clear()
        header = menu.addAction(tooltip(state, now).splitlines()[0])
        header.setEnabled(False)
        pending = [r for r in inbox_rows(state, now) if r.batch is not None and not r.expired]
        if pending:
            menu.addSeparator()
            for row in pending[:TOP_BATCHES]:
                assert row.batch is not None
                text = f"{row.band.upper()} · {row.batch.waiting} · {short(row.title, 60)}"
                action = menu.addAction(_menu_text(text))
                action.triggered.connect(lambda _=False, k=row.key: self.open_inbox(k))
            if len(pending) > TOP_BATCHES:
                more = menu.addAction(f"… {len(pending) - TOP_BATCHES} more batches in the inbox")
                more.triggered.connect(lambda: self.open_inbox(None))
        if state.sessions:
            menu.addSeparator()
            for s in state.sessions:
                agent = s.agent or (s.command[0] if s.command else "agent")
                text = f"{visible(agent)} in {short(s.workspace, 50)}, {duration(now - s.started)}"
                menu.addAction(_menu_text(text)).setEnabled(False)
        menu.addSeparator()
        if state.paused is not None:
            resume = menu.addAction("Resume asking")
            resume.setEnabled(state.connected)
            resume.triggered.connect(lambda: self.bridge.request("resume"))
        else:
            for label, seconds in PAUSES:
                action = menu.addAction(label)
                action.setEnabled(state.connected)
                action.triggered.connect(lambda _=False, s=seconds: self.pause(s))
            forever = menu.addAction("Pause asking until resumed")
            forever.setEnabled(state.connected)
            forever.triggered.connect(lambda: self.pause(None))
            note = menu.addAction("(while paused, unknown requests are denied)")
            note.setEnabled(False)
        menu.addSeparator()
        if self.login is not None:
            login = menu.addAction("Start at login")
            login.setCheckable(True)
            login.setChecked(self.login.enabled())
            login.toggled.connect(self.login.set)
        inbox = menu.addAction("Open inbox")
        inbox.triggered.connect(lambda: self.open_inbox(None))
        if self.open_history is not None:
            history = self.open_history
            menu.addAction("Open history").triggered.connect(lambda _=False: history())
        if self.open_trust is not None:
            trust = self.open_trust
            menu.addAction("Trusted paths…").triggered.connect(lambda _=False: trust())
        kept = self.sessions_kept()
        quit_text = "Quit"
        if kept:
            quit_text = f"Quit (the service stays up for the {kept} running session(s))"
        leave = QAction(quit_text, menu)
        leave.triggered.connect(self.quit)
        menu.addAction(leave)

    def pause(self, seconds: int | None) -> None:
        if seconds is None:
            self.bridge.request("pause")
        else:
            self.bridge.request("pause", **{"for": seconds})


class StartAtLogin:
    """The menu's "Start at login": the autostart entry of app.autostart (a small file
    in the user's autostart folder, written or removed at once)."""

    def __init__(self, paths: Paths) -> None:
        self.paths = paths

    def enabled(self) -> bool:
        from app import autostart

        return autostart.enabled(self.paths)

    def set(self, on: bool) -> None:
        from app import autostart

        try:
            autostart.enable(self.paths) if on else autostart.disable(self.paths)
        except OSError as exc:  # a read-only config folder: say so, change nothing
            print(f"sandgate: cannot change start at login: {exc}", file=sys.stderr)


def _menu_text(text: str) -> str:
    """Menu entries read '&' as a shortcut marker: agent text must not choose one."""
    return text.replace("&", "&&")
