"""Desktop notifications: a critical event, a batch that starts waiting.

On Linux they go to the freedesktop notification service through `notify-send`
(libnotify), run as a QProcess so the GUI never waits for it; elsewhere, or without
it, the tray icon's own messages. A notification never takes focus and never carries
the approve action: its one action opens the batch in the inbox. Repeats are folded:
a request joining a batch already announced replaces that notification ('3 more
requests joined') instead of adding another.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QObject, QProcess, QTimer, Signal
from PySide6.QtWidgets import QSystemTrayIcon

from app.ui.rows import Batch, Change
from app.ui.text import short
from app.ui.words import describe

FOLD_S = 60.0  # a join within this long of the announcement is folded into it
UPDATE_S = 1.0  # a folded notification is replaced at most this often


@dataclass
class _Shown:
    key: str
    title: str
    body: str
    joined: int
    at: float
    notification_id: int | None = None
    process: QProcess | None = None
    sent: float = 0.0  # when it was last sent
    critical: bool = False


class Notifier(QObject):
    clicked = Signal(str)  # the inbox key (batch id or review item id) to open

    def __init__(
        self,
        tray: QSystemTrayIcon | None,
        program: str | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.tray = tray
        if program is None and os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
            program = shutil.which("notify-send")
        self.program = program  # None: no session bus here, the tray's own messages
        self.clock = clock
        self.shown: dict[str, _Shown] = {}
        self.sent: list[tuple[str, str]] = []  # (title, body) in order, for the record
        self._last_key: str | None = None
        self._due: dict[int, _Shown] = {}  # folded repeats not sent yet
        self._later = QTimer(self)
        self._later.setSingleShot(True)
        self._later.timeout.connect(self._send_due)
        if tray is not None:
            tray.messageClicked.connect(self._tray_clicked)

    def changes(self, changes: tuple[Change, ...]) -> None:
        """Announce what deserves it in a batch of stream changes."""
        added = [c for c in changes if c.name == "batch.added" and c.batch is not None]
        calm = [c for c in added if c.batch is not None and c.batch.band != "critical"]
        if len(calm) > 2:
            # A burst: one notification for all the batches it started, not one each.
            body = f"{len(calm)} batches started waiting; the inbox lists them by risk"
            self._together([c.batch for c in calm if c.batch is not None], body)
            changes = tuple(c for c in changes if c not in calm)
        joins: dict[str, tuple[Batch, int]] = {}
        for change in changes:
            if change.name == "batch.added" and change.batch is not None:
                b = change.batch
                critical = b.band == "critical"
                title = "Sandgate: critical request blocked" if critical else "Sandgate: waiting"
                self._announce(b.batch, title, describe(b), critical)
            elif change.name == "batch.joined" and change.batch is not None:
                seen = joins.get(change.batch.batch)
                joins[change.batch.batch] = (change.batch, (seen[1] if seen else 0) + 1)
            elif change.name == "review.added" and change.item is not None:
                item = change.item
                if item.band == "critical":
                    self._announce(item.id, "Sandgate: critical alert", short(item.summary), True)
        self._joined(list(joins.values()))

    def _joined(self, joins: list[tuple[Batch, int]]) -> None:
        """Requests joined these batches (each with how many): a batch announced lately
        gets its notification replaced ('3 more requests joined', at most once a
        second); others are announced, all in one notification when more than two."""
        now = self.clock()
        fresh = [b for b, _n in joins if self._recent(b.batch, now) is None]
        if len(fresh) > 2:
            body = f"requests joined {len(fresh)} batches; the inbox lists them by risk"
            self._together(fresh, body)
        else:
            for b in fresh:
                critical = b.band == "critical"
                title = "Sandgate: critical" if critical else "Sandgate: waiting"
                self._announce(b.batch, title, describe(b), critical)
        announced = {b.batch for b in fresh}  # their first words count these joins
        for b, n in joins:
            if b.batch in announced:
                continue
            shown = self.shown[b.batch]
            shown.joined += n
            shown.critical = shown.critical or b.band == "critical"
            self._due[id(shown)] = shown
        self._send_due()

    def _together(self, batches: list[Batch], body: str) -> None:
        """One notification for all of `batches`; later joins to any of them fold
        into it."""
        critical = any(b.band == "critical" for b in batches)
        self._announce("", "Sandgate: waiting", body, critical)
        for b in batches:
            self.shown[b.batch] = self.shown[""]

    def _recent(self, key: str, now: float) -> _Shown | None:
        shown = self.shown.get(key)
        return shown if shown is not None and now - shown.at <= FOLD_S else None

    def _send_due(self) -> None:
        now = self.clock()
        for ident, shown in list(self._due.items()):
            wait = shown.sent + UPDATE_S - now
            if wait > 0:
                if not self._later.isActive():
                    self._later.start(int(wait * 1000) + 1)
                continue
            del self._due[ident]
            if shown.joined:
                more = f"{shown.joined} more request{'s' if shown.joined > 1 else ''} joined"
                self._send(shown, f"{shown.body}\n{more}", shown.critical)

    def _announce(self, key: str, title: str, body: str, critical: bool) -> None:
        shown = _Shown(key, title, short(body, 160), 0, self.clock(), critical=critical)
        old = self.shown.get(key)
        if old is not None:
            shown.notification_id = old.notification_id
        self.shown[key] = shown
        self._send(shown, shown.body, critical)

    def _send(self, shown: _Shown, body: str, critical: bool) -> None:
        shown.sent = self.clock()
        self.sent.append((shown.title, body))
        self._last_key = shown.key
        if self.program is None:
            if self.tray is not None and self.tray.isVisible():
                self.tray.showMessage(shown.title, body)
            return
        if shown.process is not None:
            # Replaced: the new process waits for the click, the old one is not needed.
            shown.process.finished.disconnect()
            shown.process.kill()
        args = ["--app-name=Sandgate", "--print-id", "--wait", "--action=default=Open in inbox"]
        args += ["--urgency=critical" if critical else "--urgency=normal"]
        if shown.notification_id is not None:
            args.append(f"--replace-id={shown.notification_id}")
        # notify-send takes summary and body as plain markup-free text only when they
        # cannot be read as options; `--` ends them.
        args += ["--", shown.title, _no_markup(body)]
        process = QProcess(self)
        process.readyReadStandardOutput.connect(lambda p=process, s=shown: self._read(p, s))
        process.finished.connect(lambda *_: None)
        shown.process = process
        # notify-send prints the id at once but its stdout to a pipe is block-buffered:
        # line-buffered through stdbuf, the id arrives in time to fold repeats into it.
        stdbuf = shutil.which("stdbuf")
        if stdbuf is not None:
            process.start(stdbuf, ["-oL", self.program, *args])
        else:
            process.start(self.program, args)

    def _read(self, process: QProcess, shown: _Shown) -> None:
        while process.canReadLine():
            line = bytes(process.readLine().data()).decode(errors="replace").strip()
            if line.isdigit() and shown.notification_id is None:
                shown.notification_id = int(line)
            elif line == "default":
                self.clicked.emit(shown.key)

    def _tray_clicked(self) -> None:
        if self._last_key is not None:
            self.clicked.emit(self._last_key)

    def close(self) -> None:
        for shown in self.shown.values():
            if shown.process is not None:
                shown.process.kill()
                shown.process.waitForFinished(500)


def _no_markup(text: str) -> str:
    """Notification servers may read a body as markup: agent text must not be."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
