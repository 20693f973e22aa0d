"""The service for `bench_inbox.py`, in a process of its own: a real service (fake
sandbox and triage, as the service tests use) whose queue this process fills on
command. Lines on standard input: `hold COUNT BATCHES SPREAD`; each is answered with
`held` once the requests wait. Started by the benchmark, not by hand."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def hold(service, session: str, count: int, batches: int, spread: float = 0.0) -> None:
    """Hold `count` requests in `batches` signatures on the service loop, spread over
    `spread` seconds."""
    queue = service.queue
    loop = service.thread._loop
    workspace = str(service.workspace)
    held = service.held  # kept referenced until the service stops

    async def hold_all() -> None:
        start = loop.time()
        for n in range(count):
            b = n % batches
            band = ("low", "medium", "high", "critical")[b % 4]
            url = f"https://host{b}.example.test/path/{n}"
            event = {"id": f"x{n}-{time.monotonic_ns()}", "kind": "net.request",
                     "method": "GET", "url": url}  # fmt: skip
            reasons = [{"rule": "egress.unknown", "points": 10, "why": "unknown"}]
            verdict = {"score": 10 + b, "band": band, "signature": f"net.request GET host{b}",
                       "reasons": reasons}  # fmt: skip
            held.append(
                asyncio.ensure_future(queue.ask(session, workspace, event, verdict, timeout=600))
            )
            if spread:
                delay = start + spread * (n + 1) / count - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)

    asyncio.run_coroutine_threadsafe(hold_all(), loop).result(120)


def start(home: Path):
    """A real service on the private home's socket, and a session open on it."""
    from app.paths import Paths
    from app.service.runtime import start_in_thread
    from tests.service.conftest import FakeSandbox, FakeTriage
    from tests.ui.conftest import Service

    paths = Paths.from_environment().ensure()
    workspace = home / "project"
    workspace.mkdir(exist_ok=True)
    service = Service(paths, start_in_thread(paths, sandbox=FakeSandbox(), triage=FakeTriage()),
                      workspace)  # fmt: skip
    return service, service.open_session()


def main() -> int:
    service, session = start(Path.home())
    print("ready", flush=True)
    try:
        for line in sys.stdin:
            word, *numbers = line.split()
            if word == "hold":
                count, batches, spread = int(numbers[0]), int(numbers[1]), float(numbers[2])
                hold(service, session, count, batches, spread)
                print("held", flush=True)
    finally:
        service.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
