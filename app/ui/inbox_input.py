"""The inbox's input filter: keys decide, and input the gate refuses never arrives.

Installed on every widget of the window, it sees a key press or a click before the
widget does: during a risky batch's first moment it swallows input on the batch page;
`A` and `D` decide (through the controller, hence through the gate); Enter decides
only where a default button is allowed (low); Esc hides the window.
"""

from __future__ import annotations

from typing import Protocol

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QWidget

from app.ui.friction import Gate
from app.ui.inbox import InboxWindow


class Deciding(Protocol):
    """What the filter needs of the inbox's controller (a QObject: the filter's parent)."""

    window: InboxWindow
    gate: Gate | None

    def now_ms(self) -> float: ...
    def decide(self, decision: str) -> bool: ...


_INPUT = (
    QEvent.Type.KeyPress,
    QEvent.Type.KeyRelease,
    QEvent.Type.MouseButtonPress,
    QEvent.Type.MouseButtonRelease,
    QEvent.Type.MouseButtonDblClick,
    QEvent.Type.Shortcut,
    QEvent.Type.ShortcutOverride,
)


class InboxInput(QObject):
    def __init__(self, controller: Deciding) -> None:
        super().__init__(controller if isinstance(controller, QObject) else None)
        self.c = controller

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        kind = event.type()
        if kind not in _INPUT:
            return False
        pane = self.c.window.batch
        on_batch = isinstance(watched, QWidget) and (watched is pane or pane.isAncestorOf(watched))
        gate = self.c.gate
        guarded = gate is not None and not gate.accepts_input(self.c.now_ms())
        if on_batch and guarded and self.c.window.pages.currentWidget() is pane:
            return True  # input in the first moment after a risky batch is shown
        if kind == QEvent.Type.KeyPress and isinstance(event, QKeyEvent):
            return self._key(watched, event)  # before a table's keyboard search sees A or D
        return False

    def _key(self, watched: QObject, event: QKeyEvent) -> bool:
        key = event.key()
        mods = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
        if watched is self.c.window.batch.confirm_text and key not in (Qt.Key.Key_Escape,):
            # Typing the destination; Enter there confirms nothing (the click does).
            return key in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
        if mods not in (Qt.KeyboardModifier.NoModifier, Qt.KeyboardModifier.AltModifier):
            return False
        on_batch = self.c.window.pages.currentWidget() is self.c.window.batch
        if key == Qt.Key.Key_Escape:
            self.c.window.hide()
            return True
        if key in (Qt.Key.Key_A, Qt.Key.Key_D) and on_batch:
            if not event.isAutoRepeat():
                self.c.decide("allow" if key == Qt.Key.Key_A else "deny")
            return True
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and on_batch:
            # Only a low batch has a default button; elsewhere Enter decides nothing.
            low = self.c.gate is not None and self.c.gate.rules.default_button
            if low and not event.isAutoRepeat():
                self.c.decide("allow")
            return True
        return False
