"""Edits made to the policy files outside the window, seen live through watchdog.

watchdog calls back on its own thread; the callback only emits a signal, which Qt
delivers in the GUI thread (a queued connection: the `FileWatch` object lives there).
Editors save in many ways (in place, or a new file renamed over the old), so every
event in the file's folder that names the file counts: created, modified, moved.
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer


class FileWatch(QObject):
    """Emits `changed(path)` in the GUI thread when one of the watched files changes."""

    changed = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._observer = Observer()
        self._observer.daemon = True
        self._files: set[str] = set()
        self._folders: set[str] = set()
        self._observer.start()

    def watch(self, path: Path) -> None:
        """Watch `path` (its folder is made if missing, so a file yet to exist counts)."""
        folder = path.parent
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._files.add(os.path.abspath(path))
        if str(folder) not in self._folders:
            self._folders.add(str(folder))
            self._observer.schedule(_Handler(self), str(folder), recursive=False)

    def stop(self) -> None:
        self._observer.stop()
        self._observer.join(timeout=2)

    def _seen(self, event: FileSystemEvent) -> None:
        # On watchdog's thread: only compare names and emit (Qt queues it to the GUI).
        for name in (event.src_path, getattr(event, "dest_path", "")):
            text = os.fsdecode(name) if name else ""
            if text and os.path.abspath(text) in self._files:
                self.changed.emit(os.path.abspath(text))


class _Handler(FileSystemEventHandler):
    def __init__(self, watch: FileWatch) -> None:
        self.watch = watch

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type in ("created", "modified", "moved", "deleted", "closed"):
            self.watch._seen(event)
