"""The tray icon, drawn for each state and for light and dark panels.

Drawn in code (no image files to keep in step): a gate outline in the panel's contrast
colour, filled by state, with the count of waiting requests when there are any.
"""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QIcon, QPainter, QPainterPath, QPen, QPixmap

from app.ui.rows import State

STATES = ("idle", "running", "waiting", "critical", "paused", "down")
_FILL = {
    "idle": "#9e9e9e",
    "running": "#1e88e5",
    "waiting": "#f9a825",
    "critical": "#d50000",
    "paused": "#757575",
    "down": None,
}


def state_of(state: State) -> str:
    """The icon state for what the service last said."""
    if not state.connected or state.recording_failed is not None:
        return "down"  # no record means no network: the service cannot do its job
    if state.critical_waiting:
        return "critical"
    if state.paused is not None:
        return "paused"
    if state.waiting:
        return "waiting"
    return "running" if state.sessions else "idle"


def draw(kind: str, count: int = 0, *, dark_panel: bool = False, size: int = 64) -> QPixmap:
    """One icon as a pixmap (the tests and the screenshots look at these)."""
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    p = QPainter(pixmap)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    outline = QColor("#f5f5f5" if dark_panel else "#212121")
    s = size / 64.0
    shield = QPainterPath()
    shield.moveTo(32 * s, 4 * s)
    shield.lineTo(56 * s, 12 * s)
    shield.cubicTo(56 * s, 38 * s, 46 * s, 52 * s, 32 * s, 60 * s)
    shield.cubicTo(18 * s, 52 * s, 8 * s, 38 * s, 8 * s, 12 * s)
    shield.closeSubpath()
    fill = _FILL.get(kind)
    p.setPen(QPen(outline, 4 * s))
    p.setBrush(QColor(fill) if fill else Qt.BrushStyle.NoBrush)
    p.drawPath(shield)
    p.setPen(QPen(outline if kind == "down" else QColor("#ffffff"), 6 * s))
    if kind == "paused":
        p.drawLine(int(25 * s), int(22 * s), int(25 * s), int(44 * s))
        p.drawLine(int(39 * s), int(22 * s), int(39 * s), int(44 * s))
    elif kind == "down":
        p.drawLine(int(20 * s), int(20 * s), int(44 * s), int(46 * s))
        p.drawLine(int(44 * s), int(20 * s), int(20 * s), int(46 * s))
    elif kind == "critical":
        p.drawLine(int(32 * s), int(18 * s), int(32 * s), int(38 * s))
        p.drawPoint(int(32 * s), int(47 * s))
    elif kind in ("waiting",) and count:
        font = QFont()
        font.setBold(True)
        font.setPixelSize(int((26 if count < 100 else 18) * s))
        p.setFont(font)
        p.setPen(QColor("#000000"))
        text = str(count) if count < 1000 else "999+"
        p.drawText(QRectF(0, 8 * s, size, 44 * s), Qt.AlignmentFlag.AlignCenter, text)
    elif kind == "running":
        p.setBrush(QColor("#ffffff"))
        p.setPen(Qt.PenStyle.NoPen)
        p.drawEllipse(QRectF(24 * s, 24 * s, 16 * s, 16 * s))
    p.end()
    return pixmap


def icon(kind: str, count: int = 0, *, dark_panel: bool = False) -> QIcon:
    result = QIcon()
    for size in (16, 22, 24, 32, 48, 64):
        result.addPixmap(draw(kind, count, dark_panel=dark_panel, size=size))
    return result
