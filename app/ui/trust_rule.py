""" "Make a rule from this": the proposed entries for one history event, the YAML each
adds, and saving it into the user's policy through the editor's own document and check
(app/trust/). The person picks one; nothing is written without the Save button."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QButtonGroup,
    QDialog,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from app.trust.proposal import Proposal
from app.trust.saving import ChangedOnDisk, PolicyFiles, save
from app.ui.text import visible
from sandbox.policy import PolicyError


class MakeRuleDialog(QDialog):
    def __init__(
        self, proposals: Sequence[Proposal], files: PolicyFiles, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Make a rule from this")
        self.proposals = list(proposals)
        self.files = files
        self.saved: Proposal | None = None
        where = QLabel(f"Adds to {files.user} (checked by the policy loader before it is saved):")
        where.setTextFormat(Qt.TextFormat.PlainText)
        where.setWordWrap(True)
        self.choices = QButtonGroup(self)
        layout = QVBoxLayout(self)
        layout.addWidget(where)
        for number, proposal in enumerate(self.proposals):
            button = QRadioButton(visible(proposal.title))
            self.choices.addButton(button, number)
            layout.addWidget(button)
        self.yaml = QPlainTextEdit()
        self.yaml.setReadOnly(True)
        font = QFont("monospace")
        font.setStyleHint(QFont.StyleHint.Monospace)
        self.yaml.setFont(font)
        self.yaml.setMinimumHeight(110)
        self.status = QLabel()
        self.status.setTextFormat(Qt.TextFormat.PlainText)
        self.status.setWordWrap(True)
        self.save_button = QPushButton("Save")
        cancel = QPushButton("Cancel")
        row = QHBoxLayout()
        row.addWidget(self.status, 1)
        row.addWidget(cancel)
        row.addWidget(self.save_button)
        layout.addWidget(self.yaml)
        layout.addLayout(row)
        self.choices.idToggled.connect(self._toggled)
        self.save_button.clicked.connect(lambda _=False: self.save())
        cancel.clicked.connect(lambda _=False: self.reject())
        if self.proposals:
            self.choices.button(0).setChecked(True)
        self.resize(560, 320)

    def chosen(self) -> Proposal:
        return self.proposals[max(0, self.choices.checkedId())]

    def _toggled(self, _id: int, on: bool) -> None:
        if on:
            self._show()

    def _show(self) -> None:
        self.yaml.setPlainText(visible(self.chosen().yaml(), keep_newlines=True))

    def save(self) -> bool:
        """Add the chosen entry to the user's policy and save it (checked first)."""
        proposal = self.chosen()
        document = self.files.user_document()
        proposal.apply(document)
        try:
            save(document, self.files)
        except (PolicyError, ChangedOnDisk) as exc:
            self.status.setText(visible(f"Not saved: {exc}"))
            return False
        self.saved = proposal
        self.accept()
        return True
