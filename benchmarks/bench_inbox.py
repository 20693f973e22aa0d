"""The inbox under load (a measurement, not a test: nothing here asserts).

1. 10,000 waiting requests in 50 batches, held in a real service's queue: the inbox
   model rebuilt from the service's state and the first screen drawn. Target: under
   100 ms. Printed beside the same rebuild of an empty inbox, measured in this run.
2. A burst of 1,000 new requests within one second, arriving through the real `watch`
   stream: the longest stall of the GUI thread's event loop (a 5 ms timer's worst
   lateness). Target: never more than 50 ms. Printed beside the stall of the same loop
   with nothing arriving.

Run: `.venv/bin/python benchmarks/bench_inbox.py` (offscreen; no display needed).
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks import inbox_service
from tests.private_env import enter_private_home


class _Here:
    """The service in the tray's own process (as the tray once started it, and as
    `sandgate run` still does): the figure that shows what sharing the interpreter costs."""

    def __init__(self, home: Path) -> None:
        self.service, self.session = inbox_service.start(home)
        self._burst: threading.Thread | None = None

    def hold(self, count: int, batches: int) -> None:
        inbox_service.hold(self.service, self.session, count, batches)

    def burst(self, count: int, batches: int, spread: float) -> None:
        args = (self.service, self.session, count, batches, spread)
        self._burst = threading.Thread(target=inbox_service.hold, args=args)
        self._burst.start()

    def burst_done(self) -> None:
        assert self._burst is not None
        self._burst.join()

    def stop(self) -> None:
        self.service.stop()


class _Apart:
    """The service in a process of its own, as the tray starts it and `sandgate start`
    runs it."""

    def __init__(self) -> None:
        script = Path(__file__).with_name("inbox_service.py")
        self.process = subprocess.Popen([sys.executable, str(script)], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, text=True)  # fmt: skip
        assert self._line() == "ready"

    def _line(self) -> str:
        assert self.process.stdout is not None
        return self.process.stdout.readline().strip()

    def _send(self, count: int, batches: int, spread: float) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(f"hold {count} {batches} {spread}\n")
        self.process.stdin.flush()

    def hold(self, count: int, batches: int) -> None:
        self._send(count, batches, 0.0)
        assert self._line() == "held"

    def burst(self, count: int, batches: int, spread: float) -> None:
        self._send(count, batches, spread)

    def burst_done(self) -> None:
        assert self._line() == "held"

    def stop(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(30)


def measure(apart: bool) -> None:
    home = enter_private_home(Path(tempfile.mkdtemp(prefix="sgbench")))
    from PySide6.QtCore import QElapsedTimer, QTimer
    from PySide6.QtWidgets import QApplication

    from app.paths import Paths
    from app.ui import words
    from app.ui.app import build, tune_memory
    from app.ui.rows import State

    paths = Paths.from_environment().ensure()
    service = _Apart() if apart else _Here(home)
    qt = QApplication.instance() or QApplication([])
    app = build(paths, use_tray=False)
    collector = tune_memory(app.bridge)  # noqa: F841 - as `sandgate tray` does
    app.window.show()
    where = "its own process (as the tray runs it)" if apart else "the tray's process"

    def settle(seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            qt.processEvents()
            time.sleep(0.005)

    def rebuild(state: State, runs: int = 15) -> float:
        times = []
        for _ in range(runs):
            app.inbox.key = None
            words.forget()  # cold: every batch described from its first member
            t0 = time.perf_counter()
            app.inbox.apply(state)
            app.window.grab()  # the first screen, drawn
            times.append(time.perf_counter() - t0)
        return statistics.median(times)

    def longest_stall(action) -> float:
        clock = QElapsedTimer()
        gaps: list[float] = []
        last = [0.0]
        timer = QTimer()
        timer.setInterval(5)

        def tick() -> None:
            now = clock.nsecsElapsed() / 1e6
            gaps.append(now - last[0])
            last[0] = now

        timer.timeout.connect(tick)
        clock.start()
        timer.start()
        action()
        settle(1.5)
        timer.stop()
        return max(gaps[1:], default=0.0) - 5.0

    try:
        settle(0.5)
        empty = rebuild(State(connected=True))
        service.hold(10_000, 50)
        while app.inbox.state.waiting < 10_000:
            settle(0.1)
        full = rebuild(app.inbox.state)
        print(f"service in {where}:")
        print(f"  inbox, 10,000 requests in 50 batches: rebuild + first screen "
              f"{full * 1000:.1f} ms (empty inbox {empty * 1000:.1f} ms, "
              f"ratio {full / empty:.1f}x; target < 100 ms)")  # fmt: skip
        settle(1.0)  # the previews the rebuilds asked for come back
        idle = longest_stall(lambda: None)
        stall = longest_stall(lambda: service.burst(1000, 50, 1.0))
        service.burst_done()
        print(f"  burst of 1,000 requests in 1 s: longest GUI stall {stall:.1f} ms "
              f"(idle loop {idle:.1f} ms, ratio {stall / max(idle, 0.1):.1f}x; "
              f"target <= 50 ms)")  # fmt: skip
    finally:
        app.bridge.stop()
        app.server.close()
        app.window.close()
        service.stop()
        shutil.rmtree(home, ignore_errors=True)


def main() -> int:
    """Each way in a fresh process of its own, so that neither inherits the other's
    caches, threads or heap."""
    if len(sys.argv) > 1:
        measure(sys.argv[1] == "apart")
        return 0
    for mode in ("apart", "here"):
        subprocess.run([sys.executable, __file__, mode], check=True)
    return 0


if __name__ == "__main__":
    from app.commands.leave import leave

    leave(main())  # as the tray does: no PySide6 teardown crash after the figures
