"""The ways into the editor: the tray's "Trusted paths…" entry, and the history's
"Make a rule from this", which shows the YAML and saves it into the user's policy."""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtWidgets import QSystemTrayIcon
from pytestqt.qtbot import QtBot

from app.paths import Paths
from app.service.store import Store
from app.trust.saving import PolicyFiles
from app.ui.bridge import Bridge
from app.ui.history_window import HistoryWindow
from app.ui.tray import TrayController
from app.ui.trust_open import TrustOpener
from app.ui.trust_rule import MakeRuleDialog
from app.ui.trust_window import TrustWindow
from sandbox.policy import load_policy


def _files(paths: Paths, resources: Path, home: Path) -> PolicyFiles:
    return PolicyFiles(resources / "policy" / "default.yaml", paths.user_policy, home)


def test_trusted_paths_from_the_tray_menu(
    qtbot: QtBot, paths: Paths, resources: Path, isolated_env: Path
) -> None:
    bridge = Bridge(paths)  # not started: the window's own lists wait for the service
    icon = QSystemTrayIcon()
    tray = TrayController(icon, bridge, lambda _k: None, lambda: None, lambda: 0)
    tray.menu.aboutToShow.emit()
    assert "Trusted paths…" not in [a.text() for a in tray.menu.actions()]
    opener = TrustOpener(paths, _files(paths, resources, isolated_env), bridge)
    tray.open_trust = opener.open
    tray.menu.aboutToShow.emit()
    texts = [a.text() for a in tray.menu.actions()]
    assert texts.index("Trusted paths…") == texts.index("Open inbox") + 1
    entry = next(a for a in tray.menu.actions() if a.text() == "Trusted paths…")
    entry.trigger()
    window = opener.window
    assert isinstance(window, TrustWindow) and window.isVisible()
    qtbot.addWidget(window)
    qtbot.waitUntil(lambda: window.model.explainer is not None, timeout=10000)
    entry.trigger()
    assert opener.window is window  # raised, not opened twice
    window.close()
    tray.menu.deleteLater()
    icon.deleteLater()


def test_make_a_rule_from_a_history_row_shows_the_yaml_and_saves_it(
    qtbot: QtBot, paths: Paths, resources: Path, isolated_env: Path
) -> None:
    paths.user_policy.write_text("# kept\nversion: 1\n")
    store = Store(paths.database)
    store.open_session("s1", str(isolated_env / "src"), ["claude"], agent="claude-code")
    event = store.add_event(
        "s1",
        {"kind": "net.request", "method": "GET", "url": "https://api.example.org/v1"},
        {"score": 60, "band": "high", "reasons": [], "signature": "net.request api.example.org"},
        ts=time.time(),
    )
    store.add_decision("allow", "once", "user", events_=[event])
    store.close()
    files = _files(paths, resources, isolated_env)
    window = HistoryWindow(paths.database, policy=files)
    qtbot.addWidget(window)
    window.show()
    window.open_database()
    qtbot.waitUntil(lambda: window.model.rowCount() == 1, timeout=5000)
    assert not window.make_rule.isEnabled()
    window.table.selectRow(0)
    qtbot.waitUntil(lambda: window.make_rule.isEnabled(), timeout=5000)
    window.make_rule.click()
    dialog = window.findChild(MakeRuleDialog)
    assert dialog is not None
    assert [b.text() for b in dialog.choices.buttons()] == [
        "Allow api.example.org",
        "Allow every name under example.org",
    ]
    assert dialog.yaml.toPlainText() == "network:\n  allow:\n    - api.example.org\n"
    dialog.choices.button(1).setChecked(True)
    assert dialog.yaml.toPlainText() == "network:\n  allow:\n    - '*.example.org'\n"
    dialog.save_button.click()
    assert dialog.result() == dialog.DialogCode.Accepted
    assert paths.user_policy.read_text().startswith("# kept\n")
    policy = load_policy(files.defaults, paths.user_policy, home=isolated_env)
    assert "*.example.org" in policy.network.allow
    assert window.status.text().startswith(f"Saved to {paths.user_policy}")
    window.close()
