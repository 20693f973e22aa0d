"""Opening the trusted-paths window: from the tray (one at a time, made anew once
closed) and as `sandgate trust`, the window alone until it is closed."""

from __future__ import annotations

import sys

from PySide6.QtWidgets import QApplication

from app.paths import Paths
from app.trust.saving import PolicyFiles
from app.ui.trust_controller import open_editor
from app.ui.trust_window import TrustWindow


class TrustOpener:
    """The tray's "Trusted paths…": one window at a time, made anew once closed."""

    def __init__(self, paths: Paths, files: PolicyFiles, bridge: object | None = None) -> None:
        self.paths = paths
        self.files = files
        self.bridge = bridge
        self.window: TrustWindow | None = None

    def open(self) -> None:
        if self.window is None or not self.window.isVisible():
            self.window = open_editor(self.paths, self.files, bridge=self.bridge)
            self.window.show()
        self.window.raise_()
        self.window.activateWindow()


def run(paths: Paths, files: PolicyFiles, profile: str | None = None) -> int:
    """`sandgate trust`: the window alone, until it is closed."""
    app = QApplication.instance() or QApplication(sys.argv[:1])
    window = open_editor(paths, files, profile=profile)
    window.show()
    return int(app.exec())
