"""The tray's "Open history" opens the history window on the tray's own database."""

from __future__ import annotations

import time

from PySide6.QtWidgets import QSystemTrayIcon
from pytestqt.qtbot import QtBot

from app.paths import Paths
from app.ui.bridge import Bridge
from app.ui.history_window import HistoryOpener
from app.ui.tray import TrayController
from tests.service.test_history_queries import record_sample


def test_open_history_from_the_tray_menu(qtbot: QtBot, paths: Paths) -> None:
    record_sample(paths.database, now=time.time())
    bridge = Bridge(paths)  # not started: the menu needs no service to list the entry
    icon = QSystemTrayIcon()
    tray = TrayController(icon, bridge, lambda _k: None, lambda: None, lambda: 0)
    tray.menu.aboutToShow.emit()
    assert "Open history" not in [a.text() for a in tray.menu.actions()]  # none to open
    opener = HistoryOpener(paths.database)
    tray.open_history = opener.open
    tray.menu.aboutToShow.emit()
    entry = next(a for a in tray.menu.actions() if a.text() == "Open history")
    entry.trigger()
    window = opener.window
    assert window is not None and window.isVisible()
    qtbot.addWidget(window)  # deleted after the test, not by the collector at exit
    qtbot.waitUntil(lambda: window.model.rowCount() == 6, timeout=5000)
    entry.trigger()
    assert opener.window is window  # raised, not opened twice
    window.close()
    entry.trigger()
    assert opener.window is not window and opener.window.isVisible()
    qtbot.addWidget(opener.window)
    opener.window.close()
    tray.menu.deleteLater()
    icon.deleteLater()
