"""The trusted-paths window: the tree with each path's state beside the policy's lists.

A view: it lays the widgets out and names them; `TrustController`
(app/ui/trust_controller.py) connects them and decides; app/ui/trust_open.py opens
the pair (`run()` is `sandgate trust`).
"""

from __future__ import annotations

from typing import Protocol

from PySide6.QtCore import Qt
from PySide6.QtGui import QCloseEvent, QFont
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.ui.text import visible
from app.ui.trust_panels import CredentialsPanel, RememberedPanel, RuleList, TimeoutBox
from app.ui.trust_tree import TrustTree, TrustTreeModel


class Closing(Protocol):
    """What the window asks of its controller when it is closed."""

    def may_close(self) -> bool: ...
    def close(self) -> None: ...


class ConflictBar(QFrame):
    """Shown when the file changed outside while the window holds unsaved changes."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setStyleSheet("ConflictBar { background: #fff4ce; border: 1px solid #d4a72c; }")
        self.text = QLabel()
        self.text.setTextFormat(Qt.TextFormat.PlainText)
        self.text.setWordWrap(True)
        self.take = QPushButton("Use the file's version")
        self.keep = QPushButton("Keep my changes")
        layout = QHBoxLayout(self)
        layout.addWidget(self.text, 1)
        layout.addWidget(self.take)
        layout.addWidget(self.keep)
        self.hide()


class TrustWindow(QMainWindow):
    def __init__(self) -> None:
        super().__init__()
        self.setWindowTitle("Sandgate: trusted paths and domains")
        self.resize(1280, 800)
        self.controller: Closing | None = None  # its TrustController, once made

        self.editing = QComboBox()  # which file the edits go to
        self.workspace = QComboBox()  # the workspace the states are worked out for
        self.profile = QComboBox()
        top = QHBoxLayout()
        for label, box in (("Edit", self.editing), ("States for a session in", self.workspace),
                           ("Profile", self.profile)):  # fmt: skip
            top.addWidget(QLabel(label))
            top.addWidget(box, 1 if box is not self.profile else 0)
        self.conflict = ConflictBar()

        self.model = TrustTreeModel(self)
        self.tree = TrustTree(self.model)
        self.trust_ro = QPushButton("Trust read-only")
        self.trust_rw = QPushButton("Trust read-write")
        self.deny = QPushButton("Deny")
        self.forget = QPushButton("Remove entry")
        marks = QHBoxLayout()
        for button in (self.trust_ro, self.trust_rw, self.deny, self.forget):
            marks.addWidget(button)
        marks.addStretch(1)
        self.selected = QLabel("Select a file or folder, or drop folders here to trust them.")
        self.selected.setTextFormat(Qt.TextFormat.PlainText)
        self.selected.setWordWrap(True)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self.tree, 1)
        left_layout.addWidget(self.selected)
        left_layout.addLayout(marks)

        self.allowed = RuleList("Allowed domains", "pypi.org, *.github.com, host:443")
        self.denied = RuleList("Denied domains and addresses", "*.pastebin.com")
        self.addresses = RuleList("Address rules", "127.0.0.1:8080, 10.0.0.0/8, [::1]:3000")
        # Reads (GET or HEAD, no body, ranked low) from these pass without asking.
        self.fetch = RuleList("Reads allowed without asking (package registries)", "pypi.org")
        self.timeout = TimeoutBox()
        network = QWidget()
        network_layout = QVBoxLayout(network)
        for part in (self.allowed, self.denied, self.addresses, self.fetch, self.timeout):
            network_layout.addWidget(part)
        network_layout.addStretch(1)
        network_scroll = QScrollArea()
        network_scroll.setWidgetResizable(True)
        network_scroll.setWidget(network)
        self.credentials = CredentialsPanel()
        self.remembered = RememberedPanel()
        self.yaml = QPlainTextEdit()
        self.yaml.setReadOnly(True)
        font = QFont("monospace")
        font.setStyleHint(QFont.StyleHint.Monospace)
        self.yaml.setFont(font)
        self.tabs = QTabWidget()
        self.tabs.addTab(network_scroll, "Network")
        self.tabs.addTab(self.credentials, "Credentials")
        self.tabs.addTab(self.remembered, "Remembered")
        self.tabs.addTab(self.yaml, "File")

        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(left)
        splitter.addWidget(self.tabs)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        splitter.setSizes([800, 480])

        self.status = QLabel()
        self.status.setTextFormat(Qt.TextFormat.PlainText)
        self.status.setWordWrap(True)
        self.reload = QPushButton("Reload from disk")
        self.save = QPushButton("Save")
        self.save.setDefault(True)
        bottom = QHBoxLayout()
        bottom.addWidget(self.status, 1)
        bottom.addWidget(self.reload)
        bottom.addWidget(self.save)

        body = QWidget()
        layout = QVBoxLayout(body)
        layout.addLayout(top)
        layout.addWidget(self.conflict)
        layout.addWidget(splitter, 1)
        layout.addLayout(bottom)
        self.setCentralWidget(body)

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.controller is not None and not self.controller.may_close():
            event.ignore()
            return
        if self.controller is not None:
            self.controller.close()
        super().closeEvent(event)


def ask_yes(parent: QWidget, title: str, text: str) -> bool:
    """A yes-or-cancel question, cancel by default."""
    box = QMessageBox(QMessageBox.Icon.Question, title, text, parent=parent)
    box.setTextFormat(Qt.TextFormat.PlainText)
    box.setStandardButtons(QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(QMessageBox.StandardButton.Cancel)
    return box.exec() == QMessageBox.StandardButton.Yes


def ask_mode(parent: QWidget, paths: list[str]) -> str | None:
    """Read-only or read-write for dropped paths (None: cancelled)."""
    names = ", ".join(visible(p) for p in paths[:5]) + (" …" if len(paths) > 5 else "")
    box = QMessageBox(QMessageBox.Icon.Question, "Trust what was dropped?",
                      f"Trust {names} — read-only, or read-write?", parent=parent)  # fmt: skip
    box.setTextFormat(Qt.TextFormat.PlainText)
    ro = box.addButton("Read-only", QMessageBox.ButtonRole.AcceptRole)
    rw = box.addButton("Read-write", QMessageBox.ButtonRole.AcceptRole)
    box.addButton(QMessageBox.StandardButton.Cancel)
    box.exec()
    clicked = box.clickedButton()
    return "ro" if clicked is ro else "rw" if clicked is rw else None
