"""The change stream's cost: how long a change takes to reach watchers, and what a
`decide` that is written before it is answered costs.

Compared in one run, as medians, against a `ping` round trip on the same socket:
- `pause` answered, and the `paused` change read by 1 and by 20 watchers (with one
  more watcher that never reads, which must not slow the others);
- `decide` of a held request (its decision written to SQLite before the answer).

The service runs in this process (its own thread and loop) in a temporary HOME.

    .venv/bin/python benchmarks/bench_watch.py [--runs N]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.private_env import enter_private_home  # noqa: E402


class Reader:
    """A watcher that reads on a thread and notes when each change arrives."""

    def __init__(self, paths: Any) -> None:
        from app.client import connect

        self.client = connect(paths)
        assert self.client is not None
        self.client.request("watch")
        self.arrived: dict[int, float] = {}
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.client is not None
        for change in self.client.changes():
            self.arrived[int(change["seq"])] = time.perf_counter()


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    enter_private_home(Path(tempfile.mkdtemp(prefix="sgw")))

    from app.client import connect
    from app.paths import Paths
    from app.service.runtime import start_in_thread

    paths = Paths.from_environment().ensure()
    thread = start_in_thread(paths)
    results: dict[str, float] = {}
    try:
        client = connect(paths)
        assert client is not None
        samples = []
        for _ in range(args.runs):
            start = time.perf_counter()
            client.request("ping")
            samples.append(time.perf_counter() - start)
        results["ping (baseline)"] = median_ms(samples)

        stuck = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        stuck.connect(str(paths.socket))
        stuck.sendall(b'{"op":"watch"}\n')  # and never read again
        for count in (1, 20):
            readers = [Reader(paths) for _ in range(count)]
            answered, delivered = [], []
            for _ in range(args.runs):
                start = time.perf_counter()
                client.request("pause")
                answered.append(time.perf_counter() - start)
                seq = thread.runtime.parts.changes.seq  # type: ignore[union-attr]
                while not all(seq in r.arrived for r in readers):
                    time.sleep(0.0002)
                delivered.append(max(r.arrived[seq] for r in readers) - start)
                client.request("resume")
            results[f"pause answered, {count} watcher(s)"] = median_ms(answered)
            results[f"pause seen by all {count} watcher(s)"] = median_ms(delivered)
            for reader in readers:
                assert reader.client is not None
                reader.client.close()
        stuck.close()

        egress = thread.runtime.parts.sessions.hooks[0]  # type: ignore[union-attr]
        workspace = Path(os.environ["HOME"]) / "work"
        workspace.mkdir()
        opened = client.request(
            "session.open", workspace=str(workspace), command=["true"], env=dict(os.environ)
        )
        session = opened["session"]
        samples = []
        for n in range(args.runs):
            event = {"id": f"b{n}", "kind": "net.request", "method": "GET",
                     "url": "https://bench.test/", "ts": time.time()}  # fmt: skip
            held = thread.submit(egress._ask(session, str(workspace), 30.0, event))
            while not (batches := client.request("queue")["batches"]) or not any(
                m["waiting"] for m in batches[0]["members"]
            ):
                time.sleep(0.0005)
            start = time.perf_counter()
            client.request("decide", batch=batches[0]["batch"], decision="deny")
            samples.append(time.perf_counter() - start)
            held.result(5)
        results["decide, written before the answer"] = median_ms(samples)
        client.request("session.close", session=session)
        client.close()
    finally:
        thread.stop()

    base = results["ping (baseline)"]
    print(f"{args.runs} runs each, median wall-clock")
    for name, value in results.items():
        print(f"  {name:<40} {value:7.2f} ms   x {value / base:6.1f} of ping")
    return 0


if __name__ == "__main__":
    sys.exit(main())
