"""The editor's lists beside the tree: network rules, the ask timeout, bound
credentials and remembered decisions. Views only: each says what the person asked for
through a signal; the controller decides and fills them again.

The lists are small (a policy's rules, a keyring's bindings), so plain list and table
widgets serve. Everything shown came from a file or the service and is shown plain.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.service.egress_credentials import Binding
from app.ui.text import visible


class RuleList(QGroupBox):
    """One list of rules with a field to add one and a button to remove the selected."""

    added = Signal(str)
    removed = Signal(str)

    def __init__(self, title: str, placeholder: str, parent: QWidget | None = None) -> None:
        super().__init__(title, parent)
        self.list = QListWidget()
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.list.setMinimumHeight(72)
        self.list.setMaximumHeight(104)
        self.field = QLineEdit()
        self.field.setPlaceholderText(placeholder)
        self.add_button = QPushButton("Add")
        self.remove_button = QPushButton("Remove")
        row = QHBoxLayout()
        row.addWidget(self.field, 1)
        row.addWidget(self.add_button)
        row.addWidget(self.remove_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.list)
        layout.addLayout(row)
        self.add_button.clicked.connect(lambda _=False: self._add())
        self.field.returnPressed.connect(self._add)
        self.remove_button.clicked.connect(lambda _=False: self._remove())

    def show_entries(
        self, entries: Sequence[tuple[str, int | None]], *, shipped: bool = False
    ) -> None:
        """Each entry with its line in the file (None: not saved yet); `shipped`: the
        entries are the shipped policy's, not this file's."""
        self.list.clear()
        for value, line in entries:
            where = f"   (line {line})" if line else "   (not saved yet)"
            where = "   (shipped list)" if shipped else where
            self.list.addItem(visible(value) + where)
            self.list.item(self.list.count() - 1).setData(Qt.ItemDataRole.UserRole, value)

    def _add(self) -> None:
        text = self.field.text().strip()
        if text:
            self.added.emit(text)
            self.field.clear()

    def _remove(self) -> None:
        item = self.list.currentItem()
        if item is not None:
            self.removed.emit(str(item.data(Qt.ItemDataRole.UserRole)))


class TimeoutBox(QGroupBox):
    """`network.ask_timeout`: 0 stands for "not set here" (the shipped 60 s)."""

    changed = Signal(object)  # float | None

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Ask timeout", parent)
        self.spin = QDoubleSpinBox()
        self.spin.setRange(0, 86400)
        self.spin.setDecimals(0)
        self.spin.setSuffix(" s")
        self.spin.setSpecialValueText("not set here (60 s)")
        note = QLabel("How long a request waits for you before it is denied.")
        note.setWordWrap(True)
        layout = QHBoxLayout(self)
        layout.addWidget(self.spin)
        layout.addWidget(note, 1)
        self.spin.editingFinished.connect(self._changed)

    def show_value(self, seconds: float | None) -> None:
        self.spin.blockSignals(True)
        self.spin.setValue(seconds or 0)
        self.spin.blockSignals(False)

    def _changed(self) -> None:
        value = self.spin.value()
        self.changed.emit(value if value > 0 else None)


class CredentialsPanel(QGroupBox):
    """Bound credentials: what each is bound to, never its secret. A secret typed here
    is handed on once and the field emptied; it is never shown again."""

    bind = Signal(str, str, str, str, str)  # name, domain, header, env, secret
    unbind = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Bound credentials (kept in the OS keyring)", parent)
        self.table = _table(("Name", "Domain", "Header", "Placeholder in"))
        self.name = QLineEdit()
        self.name.setPlaceholderText("e.g. github")
        self.domain = QLineEdit()
        self.domain.setPlaceholderText("the only domain it is sent to: api.github.com")
        self.header = QLineEdit()
        self.header.setPlaceholderText("authorization")
        self.env = QLineEdit()
        self.env.setPlaceholderText("default: NAME_API_KEY")
        self.secret = QLineEdit()
        self.secret.setEchoMode(QLineEdit.EchoMode.Password)
        self.secret.setPlaceholderText("typed once, stored in the keyring, never shown again")
        self.bind_button = QPushButton("Bind")
        self.remove_button = QPushButton("Remove selected")
        form = QFormLayout()
        for label, widget in (("Name", self.name), ("Domain", self.domain),
                              ("Header", self.header), ("Variable", self.env),
                              ("Secret", self.secret)):  # fmt: skip
            form.addRow(label, widget)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.remove_button)
        buttons.addWidget(self.bind_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        layout.addLayout(form)
        layout.addLayout(buttons)
        self.bind_button.clicked.connect(lambda _=False: self._bind())
        self.remove_button.clicked.connect(lambda _=False: self._unbind())

    def show_bindings(self, bindings: Sequence[Binding]) -> None:
        _fill(self.table, [(b.name, b.domain, b.header, "$" + b.env) for b in bindings])

    def _bind(self) -> None:
        secret = self.secret.text()
        self.secret.clear()  # whatever happens next, the field no longer holds it
        self.bind.emit(
            self.name.text().strip(),
            self.domain.text().strip(),
            self.header.text().strip(),
            self.env.text().strip(),
            secret,
        )

    def _unbind(self) -> None:
        row = self.table.currentRow()
        item = self.table.item(row, 0) if row >= 0 else None
        if item is not None:
            self.unbind.emit(item.text())


class RememberedPanel(QGroupBox):
    """Remembered decisions: what, how wide, who made them, when, until when."""

    revoke = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Remembered decisions", parent)
        self.table = _table(("Decision", "Matches", "Scope", "Made by", "When", "Expires"))
        self.status = QLabel()
        self.status.setTextFormat(Qt.TextFormat.PlainText)
        self.revoke_button = QPushButton("Revoke")
        row = QHBoxLayout()
        row.addWidget(self.status, 1)
        row.addWidget(self.revoke_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        layout.addLayout(row)
        self.ids: list[str] = []
        self.revoke_button.clicked.connect(lambda _=False: self._revoke())

    def show_rules(self, rules: Sequence[dict[str, Any]]) -> None:
        self.ids = [str(r.get("id", "")) for r in rules]
        rows = []
        for r in rules:
            scope = str(r.get("scope", ""))
            where = r.get("workspace") if scope == "workspace" else r.get("session")
            scope_text = f"{scope}: {where}" if where else scope
            who = "you" if r.get("by") == "user" else str(r.get("by", ""))
            rows.append(
                (
                    f"{r.get('decision', '')} (up to {r.get('band', 'low')})",
                    str(r.get("signature", "")),
                    scope_text,
                    who,
                    _when(r.get("made")),
                    _when(r.get("expires")) if r.get("expires") else "never",
                )
            )
        _fill(self.table, rows)
        self.revoke_button.setEnabled(bool(rules))

    def _revoke(self) -> None:
        row = self.table.currentRow()
        if 0 <= row < len(self.ids):
            self.revoke.emit(self.ids[row])


def _when(ts: Any) -> str:
    if not isinstance(ts, int | float):
        return "before this was kept"
    return datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M")


def _table(columns: Sequence[str]) -> QTableWidget:
    table = QTableWidget(0, len(columns))
    table.setHorizontalHeaderLabels(list(columns))
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.verticalHeader().setVisible(False)
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    table.horizontalHeader().setStretchLastSection(True)
    return table


def _fill(table: QTableWidget, rows: Sequence[Sequence[str]]) -> None:
    table.setRowCount(len(rows))
    for r, row in enumerate(rows):
        for c, text in enumerate(row):
            table.setItem(r, c, QTableWidgetItem(visible(text)))
