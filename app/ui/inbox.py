"""The inbox window's layout: the ranked list on the left, the item on the right.

A view only: it builds widgets and exposes them; `InboxController` fills them and
decides. Every label that can show agent text is in plain-text mode.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QCloseEvent, QFont, QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMainWindow,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.ui.friction import HOLD_MS
from app.ui.hold import HoldButton
from app.ui.models import InboxModel, MembersModel


def plain_label(text: str = "", *, wrap: bool = True) -> QLabel:
    """A label that can never render rich text or follow a link."""
    label = QLabel()
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.setOpenExternalLinks(False)
    label.setWordWrap(wrap)
    label.setText(text)
    return label


def _button(text: str) -> QPushButton:
    button = QPushButton(text)
    button.setAutoDefault(False)
    button.setDefault(False)
    return button


def _banner() -> QLabel:
    """The band, large and coloured: the risk is the first thing read."""
    banner = plain_label()
    banner.setObjectName("banner")
    font = QFont(banner.font())
    font.setBold(True)
    font.setPointSizeF(font.pointSizeF() * 1.25)
    banner.setFont(font)
    banner.setContentsMargins(8, 6, 8, 6)
    return banner


def _table(model: InboxModel | MembersModel, widths: dict[int, str]) -> QTableView:
    """A table whose columns are sized once from sample text, never from the rows:
    sizing to contents would ask the model for every cell on each update, a call into
    Python per cell while the in-process service competes for the interpreter."""
    view = QTableView()
    view.setModel(model)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.verticalHeader().hide()
    view.setWordWrap(False)
    view.setShowGrid(False)
    view.setTextElideMode(Qt.TextElideMode.ElideMiddle)
    header = view.horizontalHeader()
    metrics = view.fontMetrics()
    for column, sample in widths.items():
        header.setSectionResizeMode(column, QHeaderView.ResizeMode.Fixed)
        header.resizeSection(column, metrics.horizontalAdvance(sample) + 16)
    stretch = next(c for c in range(model.columnCount()) if c not in widths)
    header.setSectionResizeMode(stretch, QHeaderView.ResizeMode.Stretch)
    return view


class BatchPane(QWidget):
    """A batch: what it is, who asks, the members, the reasons, the decision."""

    def __init__(self) -> None:
        super().__init__()
        self.banner = _banner()
        self.title = plain_label()
        title_font = QFont(self.title.font())
        title_font.setPointSizeF(title_font.pointSizeF() * 1.15)
        title_font.setBold(True)
        self.title.setFont(title_font)
        self.meta = plain_label()
        self.reasons = plain_label()
        self.members_model = MembersModel()
        self.members = _table(self.members_model, {1: "100 critical", 2: "no longer waiting"})
        self.member_detail = QPlainTextEdit()
        self.member_detail.setReadOnly(True)
        self.member_detail.setMaximumHeight(90)
        self.scope = QComboBox()
        self.expiry = QComboBox()
        self.preview = plain_label()
        self.preview.setObjectName("preview")
        self.hint = plain_label()
        self.allow = _button("&Allow")
        self.deny = _button("&Deny")
        self.confirm_text = QLineEdit()
        self.confirm_allow = _button("Allow after typing")
        self.confirm_allow.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.hold = HoldButton("Press and hold 2 s to allow", HOLD_MS)

        choice = QHBoxLayout()
        choice.addWidget(plain_label("Scope:", wrap=False))
        choice.addWidget(self.scope)
        choice.addWidget(self.expiry)
        choice.addStretch(1)
        buttons = QHBoxLayout()
        buttons.addWidget(self.deny)
        buttons.addWidget(self.allow)
        buttons.addStretch(1)
        self.critical_row = QWidget()
        critical = QHBoxLayout(self.critical_row)
        critical.setContentsMargins(0, 0, 0, 0)
        critical.addWidget(self.confirm_text, 2)
        critical.addWidget(self.confirm_allow)
        critical.addWidget(self.hold)

        layout = QVBoxLayout(self)
        layout.addWidget(self.banner)
        layout.addWidget(self.title)
        layout.addWidget(self.meta)
        layout.addWidget(plain_label("Why it is asked:"))
        layout.addWidget(self.reasons)
        layout.addWidget(self.members, 1)
        layout.addWidget(self.member_detail)
        layout.addLayout(choice)
        layout.addWidget(self.preview)
        layout.addLayout(buttons)
        layout.addWidget(self.critical_row)
        layout.addWidget(self.hint)


class ReviewPane(QWidget):
    """A review item: its summary, the whole detail (a diff), and its actions."""

    def __init__(self) -> None:
        super().__init__()
        self.banner = _banner()
        self.title = plain_label()
        font = QFont(self.title.font())
        font.setBold(True)
        self.title.setFont(font)
        self.meta = plain_label()
        self.reasons = plain_label()
        self.detail = QPlainTextEdit()
        self.detail.setReadOnly(True)
        # Wrapped: the end of a long line is where an injection would hide.
        self.detail.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        mono = QFont("monospace")
        mono.setStyleHint(QFont.StyleHint.Monospace)
        self.detail.setFont(mono)
        self.action_row = QHBoxLayout()
        layout = QVBoxLayout(self)
        layout.addWidget(self.banner)
        layout.addWidget(self.title)
        layout.addWidget(self.meta)
        layout.addWidget(self.reasons)
        layout.addWidget(self.detail, 1)
        layout.addLayout(self.action_row)


class InboxWindow(QMainWindow):
    """The window; key presses go to the controller (`keyed`) before any widget."""

    keyed = Signal(object)  # QKeyEvent
    closing = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.setWindowTitle("Sandgate inbox")
        self.resize(1180, 700)
        self.status = plain_label(wrap=False)
        self.list_model = InboxModel()
        self.list = _table(self.list_model, {0: "CRITICAL 100", 2: "99 waiting · 9 min"})
        self.empty = plain_label("Nothing needs you. Sandgate lets through what the policy allows.")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.batch = BatchPane()
        self.review = ReviewPane()
        self.pages = QStackedWidget()
        for page in (self.empty, self.batch, self.review):
            self.pages.addWidget(page)
        split = QSplitter()
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self.list)
        split.addWidget(left)
        split.addWidget(self.pages)
        split.setStretchFactor(0, 2)
        split.setStretchFactor(1, 3)
        split.setSizes([540, 640])
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.addWidget(self.status)
        layout.addWidget(split, 1)
        keys = plain_label(
            "↑↓ choose · A allow · D deny · Tab to the requests · Esc close", wrap=False
        )
        keys.setObjectName("keys")
        layout.addWidget(keys)
        self.setCentralWidget(central)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        self.keyed.emit(event)
        if not event.isAccepted():
            super().keyPressEvent(event)

    def closeEvent(self, event: QCloseEvent) -> None:
        self.closing.emit()
        super().closeEvent(event)
