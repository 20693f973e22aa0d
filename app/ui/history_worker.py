"""The one way the history window reaches the database: calls on a worker thread.

Every query (a page, the details of an event, the chart, an export) is handed to
`DatabaseCalls.call` with the function to call in the GUI thread with its result; the
GUI thread never waits on the disk. Results travel through a queued signal as plain
frozen rows. Calls run one at a time and in order, so a read-only SQLite connection
is never shared between two threads at once.
"""

from __future__ import annotations

import itertools
import traceback
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from PySide6.QtCore import QObject, Signal


class DatabaseCalls(QObject):
    """Runs calls on one worker thread and answers each in the GUI thread."""

    # token, (ok, result or error sentence): a bool of its own in a queued signal is
    # mis-counted by PySide6 (Python aborts at exit deallocating True), so it travels
    # inside a tuple.
    _done = Signal(int, object)

    def __init__(self, name: str = "sandgate-history", parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        self._tokens = itertools.count(1)
        self._waiting: dict[int, tuple[Callable[[Any], None], Callable[[str], None] | None]] = {}
        self._done.connect(self._answer)

    def call(
        self,
        fn: Callable[..., Any],
        *args: Any,
        then: Callable[[Any], None],
        failed: Callable[[str], None] | None = None,
    ) -> int:
        """Run `fn(*args)` on the worker; `then(result)` (or `failed(sentence)`) runs
        later in the GUI thread. Returns a token."""
        token = next(self._tokens)
        self._waiting[token] = (then, failed)
        self._pool.submit(self._run, token, fn, args)
        return token

    def _run(self, token: int, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
        try:
            result = fn(*args)
        except Exception as exc:  # reported to the person as a sentence, not a traceback
            traceback.print_exc()
            self._done.emit(token, (False, f"{type(exc).__name__}: {exc}"))
            return
        self._done.emit(token, (True, result))

    def _answer(self, token: int, outcome: tuple[bool, object]) -> None:
        ok, result = outcome
        then, failed = self._waiting.pop(token, (None, None))
        if ok and then is not None:
            then(result)
        elif not ok and failed is not None:
            failed(str(result))

    def shutdown(self) -> None:
        """Let the running call finish and drop the queued ones."""
        self._waiting.clear()
        self._pool.shutdown(wait=True, cancel_futures=True)
