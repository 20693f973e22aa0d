"""A button that acts only when pressed and held with the mouse for a while.

Used to allow a critical batch: it never takes focus, ignores the keyboard entirely
(so no key, Enter, Space or auto-repeat can fire it), and fires once the press has
lasted `hold_ms`, showing its progress meanwhile.
"""

from __future__ import annotations

from PySide6.QtCore import QElapsedTimer, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent, QMouseEvent, QPainter, QPaintEvent
from PySide6.QtWidgets import QPushButton, QWidget


class HoldButton(QPushButton):
    held = Signal()

    def __init__(self, text: str, hold_ms: int, parent: QWidget | None = None) -> None:
        super().__init__(text, parent)
        self.hold_ms = hold_ms
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setAutoDefault(False)
        self.setDefault(False)
        self._clock = QElapsedTimer()
        self._tick = QTimer(self)
        self._tick.setInterval(30)
        self._tick.timeout.connect(self._progress)
        self.fraction = 0.0

    def keyPressEvent(self, event: QKeyEvent) -> None:
        event.ignore()  # a held key is a sequence of key presses: never enough

    def keyReleaseEvent(self, event: QKeyEvent) -> None:
        event.ignore()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self.isEnabled():
            self._clock.start()
            self._tick.start()
        event.accept()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        self._reset()
        event.accept()

    def _progress(self) -> None:
        elapsed = self._clock.elapsed()
        self.fraction = min(1.0, elapsed / self.hold_ms)
        self.update()
        if elapsed >= self.hold_ms:
            self._reset()
            self.held.emit()

    def _reset(self) -> None:
        self._tick.stop()
        self.fraction = 0.0
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        if self.fraction > 0:
            painter = QPainter(self)
            colour = self.palette().highlight().color()
            colour.setAlpha(110)
            painter.fillRect(0, 0, int(self.width() * self.fraction), self.height(), colour)
            painter.end()
