"""File watches for sessions: decoy reads and memory-file changes, through watchdog.

One watchdog observer serves the whole service. A session subscribes callbacks to
files; the observer watches each file's folder (not recursively) and, for an event on a
subscribed file, calls the callback on the event loop with `call_soon_threadsafe`, so
callbacks never run on watchdog's thread. Several sessions may watch the same file
(two agents in one workspace).
"""

from __future__ import annotations

import asyncio
import secrets
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from watchdog.events import FileSystemEventHandler
from watchdog.observers import Observer

Callback = Callable[[str], None]  # receives watchdog's event type: "opened", "modified", …


class Watchers:
    """Subscriptions of (owner, file) → callback, served by one observer thread."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._observer = Observer()
        self._observer.daemon = True
        self._observer.start()
        self._lock = threading.Lock()
        # folder -> (watchdog's watch, {file -> {owner -> callback}})
        self._folders: dict[Path, tuple[Any, dict[Path, dict[str, Callback]]]] = {}

    def watch(self, owner: str, file: Path, callback: Callback) -> bool:
        """Call `callback(event_type)` for events on `file`; False if its folder is missing.

        `watch` and `unwatch` are called from the loop only. Watchdog's own lock is
        never taken while ours is held: its thread holds it while it calls our handler,
        which takes ours.
        """
        folder = file.parent
        if not folder.is_dir():
            return False
        if folder not in self._folders:
            watch = self._observer.schedule(_Handler(self._loop, self._targets_of(folder)), folder)
            with self._lock:
                self._folders[folder] = (watch, {})
        with self._lock:
            self._folders[folder][1].setdefault(file, {})[owner] = callback
        return True

    def unwatch(self, owner: str) -> None:
        """Drop every subscription of `owner`; folders nobody watches any more are released."""
        released = []
        with self._lock:
            for folder in list(self._folders):
                watch, files = self._folders[folder]
                for file in list(files):
                    files[file].pop(owner, None)
                    if not files[file]:
                        del files[file]
                if not files:
                    del self._folders[folder]
                    released.append(watch)
        for watch in released:
            self._observer.unschedule(watch)

    async def flush(self, owner: str, folders: Iterable[Path], timeout: float = 1.0) -> None:
        """Wait until events that happened in `folders` so far have reached the loop.

        A sentinel file is made and removed in each folder; inotify keeps one folder's
        events in order, so once the sentinel is seen, every earlier event (a decoy read
        just before the agent exited) has been handed to its callback. Only for folders
        Sandgate owns: the sentinel is briefly visible there.
        """
        loop = asyncio.get_running_loop()
        waits: list[asyncio.Future[None]] = []
        key = f"{owner}\0flush"
        for folder in folders:
            sentinel = folder / f".sandgate-flush-{secrets.token_hex(4)}"
            seen: asyncio.Future[None] = loop.create_future()

            def arrived(_event_type: str, seen: asyncio.Future[None] = seen) -> None:
                if not seen.done():
                    seen.set_result(None)

            if self.watch(key, sentinel, arrived):
                sentinel.touch()
                sentinel.unlink()
                waits.append(seen)
        if waits:
            await asyncio.wait(waits, timeout=timeout)
        self.unwatch(key)

    def stop(self) -> None:
        self._observer.stop()
        self._observer.join(timeout=5)

    def _targets_of(self, folder: Path) -> Callable[[Iterable[str]], list[tuple[Callback, str]]]:
        def targets(paths: Iterable[str]) -> list[tuple[Callback, str]]:
            with self._lock:
                entry = self._folders.get(folder)
                if entry is None:
                    return []
                files = entry[1]
                return [
                    (callback, path)
                    for path in paths
                    for callback in files.get(Path(path), {}).values()
                ]

        return targets


class _Handler(FileSystemEventHandler):
    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        targets: Callable[[Iterable[str]], list[tuple[Callback, str]]],
    ) -> None:
        super().__init__()
        self._loop = loop
        self._targets = targets

    def on_any_event(self, event: Any) -> None:
        if event.is_directory:
            return
        paths = [p for p in (event.src_path, getattr(event, "dest_path", "")) if p]
        for callback, _path in self._targets(paths):
            try:
                self._loop.call_soon_threadsafe(callback, event.event_type)
            except RuntimeError:  # the loop has closed: the service is stopping
                return
