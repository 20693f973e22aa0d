"""The tray icon's states, its tooltip and its menu, over the real service."""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtGui import QImage
from PySide6.QtWidgets import QSystemTrayIcon

from app.ui import rows
from app.ui.icons import STATES, draw, state_of
from app.ui.tray import TrayController, tooltip
from tests.ui.conftest import Service


def _batch(band: str, waiting: bool = True) -> rows.Batch:
    member = rows.Member("e1", "s1", "net.request", "GET https://h.test/", 10, band, (), waiting)
    state = "pending" if waiting else "expired"
    return rows.Batch("b1", "sig", state, band, 10, 0.0, (member,))


def test_each_state_has_its_own_icon_for_light_and_dark_panels(qapp) -> None:
    session = rows.Session("s1", "claude-code", "/w", ("claude",), "", 0.0)
    up = rows.State(connected=True)
    cases = {
        "idle": up,
        "running": replace(up, sessions=(session,)),
        "waiting": replace(up, batches=(_batch("medium"),)),
        "critical": replace(up, batches=(_batch("critical"),)),
        "paused": replace(up, paused=rows.Paused(None)),
        "down": rows.State(connected=False, stale=True),
    }
    assert {state_of(s) for s in cases.values()} == set(STATES)
    assert all(state_of(s) == name for name, s in cases.items())
    images = {}
    for name in STATES:
        for dark in (False, True):
            image = draw(name, 3, dark_panel=dark, size=32).toImage()
            images[(name, dark)] = bytes(
                image.convertToFormat(QImage.Format.Format_ARGB32).constBits()
            )
    assert len(set(images.values())) == len(images), "two states or panels share an icon"
    assert "1 request waiting" in tooltip(cases["waiting"], 0)
    assert "critical" in tooltip(cases["critical"], 0)
    assert "paused until resumed" in tooltip(cases["paused"], 0)
    assert "down" in tooltip(cases["down"], 0)


def test_the_menu_is_rebuilt_from_the_state_when_it_opens(service: Service, qtbot) -> None:
    from app.ui.bridge import Bridge

    bridge = Bridge(service.paths)
    icon = QSystemTrayIcon()
    opened: list = []
    tray = TrayController(icon, bridge, opened.append, lambda: None, lambda: 2)
    bridge.start()
    try:
        s = service.open_session("claude-code")
        for i in range(3):
            service.hold(s, "high", f"https://up.test/{i}", method="PUT")
        qtbot.waitUntil(lambda: tray.state.waiting == 3, timeout=5000)
        assert tray.kind == "waiting"
        tray.menu.aboutToShow.emit()
        texts = [a.text() for a in tray.menu.actions()]
        assert any(t.startswith("HIGH · 3 · 3 PUT requests to up.test") for t in texts), texts
        assert any(t.startswith("claude-code in ") for t in texts), texts
        assert "Pause asking for 15 min" in texts and "Pause asking until resumed" in texts
        assert not any("history" in t.lower() or "trusted" in t.lower() for t in texts)
        assert any("stays up for the 2 running session" in t for t in texts)
        top = next(a for a in tray.menu.actions() if a.text().startswith("HIGH"))
        top.trigger()
        assert opened and opened[-1] is not None
        # Pausing from the menu reaches the service, and the next opening shows it.
        next(a for a in tray.menu.actions() if a.text() == "Pause asking for 1 h").trigger()
        qtbot.waitUntil(lambda: tray.state.paused is not None, timeout=5000)
        assert tray.kind == "paused"
        tray.menu.aboutToShow.emit()
        resume = next(a for a in tray.menu.actions() if a.text() == "Resume asking")
        resume.trigger()
        qtbot.waitUntil(lambda: tray.state.paused is None, timeout=5000)
    finally:
        bridge.stop()


def test_start_at_login_from_the_menu_writes_and_removes_the_autostart_entry(
    service: Service, qtbot
) -> None:
    from app import autostart
    from app.ui.bridge import Bridge
    from app.ui.tray import StartAtLogin

    bridge = Bridge(service.paths)
    tray = TrayController(
        QSystemTrayIcon(), bridge, lambda _k: None, lambda: None, lambda: 0,
        login=StartAtLogin(service.paths),
    )  # fmt: skip
    entry = autostart.entry_path(service.paths)
    assert str(entry).startswith(str(service.paths.config.parent))  # the test's own home

    def toggle() -> bool:
        tray.menu.aboutToShow.emit()
        action = next(a for a in tray.menu.actions() if a.text() == "Start at login")
        was = action.isChecked()
        action.trigger()
        return was

    assert toggle() is False and entry.is_file() and autostart.enabled(service.paths)
    assert toggle() is True and not entry.exists()


def test_a_record_that_cannot_be_written_shows_in_the_icon_and_its_words(
    service: Service, qtbot
) -> None:
    """The real change stream: the service's record health fails (as on a full disk,
    which tests/proxy/test_disk_full.py drives for real) and comes back."""
    import sqlite3

    from app.service.egress import Egress
    from app.ui.bridge import Bridge

    assert service.thread.runtime is not None
    [egress] = [h for h in service.thread.runtime.parts.sessions.hooks if isinstance(h, Egress)]
    bridge = Bridge(service.paths)
    seen: list[rows.State] = []
    bridge.state.connect(seen.append)
    bridge.start()
    try:
        qtbot.waitUntil(lambda: bool(seen) and seen[-1].connected, timeout=5000)
        assert seen[-1].recording_failed is None
        loop = service.thread._loop
        assert loop is not None
        full = sqlite3.OperationalError("database or disk is full")
        loop.call_soon_threadsafe(egress.health.failed, full)
        qtbot.waitUntil(lambda: seen[-1].recording_failed is not None, timeout=5000)
        assert state_of(seen[-1]) == "down"
        words = tooltip(seen[-1], 0)
        assert "database or disk is full" in words and "no network for any session" in words
        # A watcher that connects now is told too, from the state.
        late = Bridge(service.paths)
        late_seen: list[rows.State] = []
        late.state.connect(late_seen.append)
        late.start()
        try:
            qtbot.waitUntil(lambda: bool(late_seen) and late_seen[-1].connected, timeout=5000)
            assert late_seen[-1].recording_failed == seen[-1].recording_failed
        finally:
            late.stop()
        loop.call_soon_threadsafe(egress.health.succeeded)
        qtbot.waitUntil(lambda: seen[-1].recording_failed is None, timeout=5000)
        assert state_of(seen[-1]) != "down"
    finally:
        bridge.stop()
