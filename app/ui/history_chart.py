"""The history's chart: per day, what the agents did, what reached a person, and the
decisions a person made, so the attention Sandgate saves can be seen at a glance."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPaintEvent
from PySide6.QtWidgets import QSizePolicy, QWidget

from app.service.history_rows import DayCounts

SERIES = (
    ("actions by agents", "#90a4ae"),
    ("reached a person", "#ef6c00"),
    ("decisions made", "#1565c0"),
)


class DayChart(QWidget):
    """Grouped bars on a logarithmic scale: actions outnumber decisions a thousandfold,
    and on a linear scale the two that matter would be invisible."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.days: tuple[DayCounts, ...] = ()
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setMinimumHeight(150)

    def sizeHint(self) -> QSize:
        return QSize(600, 150)

    def show_days(self, days: Sequence[DayCounts]) -> None:
        self.days = tuple(days)
        self.setToolTip(self.summary())
        self.update()

    def summary(self) -> str:
        """The totals the chart shows, in words."""
        acted = sum(d.actions for d in self.days)
        reached = sum(d.reached_person for d in self.days)
        made = sum(d.decisions for d in self.days)
        if not acted:
            return "Nothing recorded in the last 30 days."
        share = 100 * reached / acted
        return (
            f"Last 30 days: {acted:,} actions by agents, {reached:,} reached a person "
            f"({share:.2g}%), in {made:,} decisions."
        )

    def paintEvent(self, event: QPaintEvent) -> None:
        import math

        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        rect = QRectF(self.rect()).adjusted(44, 22, -8, -18)
        text = self.palette().windowText().color()
        painter.setPen(text)
        x = 8.0
        for label, colour in SERIES:  # the legend
            painter.fillRect(QRectF(x, 6, 10, 10), QColor(colour))
            painter.drawText(QRectF(x + 14, 2, 160, 18), Qt.AlignmentFlag.AlignLeft, label)
            x += 20 + painter.fontMetrics().horizontalAdvance(label) + 12
        if not self.days:
            painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, "nothing recorded yet")
            return
        top = math.log10(max(d.actions for d in self.days) + 1) or 1.0
        grid = QColor(text)
        grid.setAlpha(50)
        for power in range(int(top) + 1):  # the scale: 1, 10, 100, ... per day
            y = rect.bottom() - rect.height() * math.log10(10**power + 1) / top
            painter.setPen(grid)
            painter.drawLine(int(rect.left()), int(y), int(rect.right()), int(y))
            painter.setPen(text)
            painter.drawText(
                QRectF(0, y - 8, rect.left() - 4, 16), Qt.AlignmentFlag.AlignRight, f"{10**power:,}"
            )
        slot = rect.width() / len(self.days)
        bar = max(1.0, slot / 4)
        for i, day in enumerate(self.days):
            left = rect.left() + i * slot + (slot - 3 * bar) / 2
            for j, value in enumerate((day.actions, day.reached_person, day.decisions)):
                height = rect.height() * math.log10(value + 1) / top
                painter.fillRect(
                    QRectF(left + j * bar, rect.bottom() - height, bar * 0.9, height),
                    QColor(SERIES[j][1]),
                )
            if i % max(1, len(self.days) // 8) == 0:
                painter.setPen(text)
                painter.drawText(
                    QRectF(left, rect.bottom() + 2, 60, 16),
                    Qt.AlignmentFlag.AlignLeft,
                    day.day[5:],
                )
        painter.end()
