"""Start-up cost of `sandgate run -- true` with a service already running.

Compared in one run, as medians of many runs: plain `true`, bare `bwrap ... true` with
the very command line Sandgate plans, `sandgate run -- true`, and Anthropic's
`srt -- true` when it is installed (`npm install -g @anthropic-ai/sandbox-runtime`,
which needs socat and ripgrep). Also the client side alone: connect, `session.open`,
`session.close` over the socket.

Everything happens in a temporary HOME and XDG tree; the service is a real
`sandgate service` subprocess. Target: `sandgate run -- true` under 60 ms median.

    .venv/bin/python benchmarks/bench_run.py [--runs N]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # a script: the project's packages and the tests' helpers
from tests.private_env import private_env  # noqa: E402

__all__ = ["ROOT", "private_env"]
TARGET_MS = 60.0


def timed(
    command: Sequence[str],
    env: Mapping[str, str],
    cwd: Path | None,
    runs: int,
    *,
    stdin: bytes | None = None,
    warmups: int = 2,
) -> list[float]:
    """Wall-clock milliseconds of each of `runs` runs (after `warmups` uncounted ones),
    each fed `stdin`; a run that fails ends the benchmark with its error."""
    samples = []
    for i in range(runs + warmups):
        start = time.perf_counter()
        done = subprocess.run(
            list(command), env=dict(env), cwd=cwd, input=stdin, capture_output=True
        )
        elapsed = (time.perf_counter() - start) * 1000
        if done.returncode != 0:
            raise SystemExit(f"{command[0]} failed: {done.stderr.decode(errors='replace')}")
        if i >= warmups:
            samples.append(elapsed)
    return samples


def timed_call(call: Callable[[], object], runs: int) -> list[float]:
    samples = []
    for i in range(runs + 2):
        start = time.perf_counter()
        call()
        if i >= 2:
            samples.append((time.perf_counter() - start) * 1000)
    return samples


def start_service(env: Mapping[str, str], socket: Path) -> subprocess.Popen[bytes]:
    service = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "service"],
        env=dict(env),
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 30
    while not socket.exists():
        if service.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"the service did not start: {service.stderr.read()!r}")  # type: ignore[union-attr]
        time.sleep(0.05)
    return service


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    if shutil.which("bwrap") is None:
        print("bwrap is not installed: nothing to compare")
        return 1

    base = Path(tempfile.mkdtemp(prefix="sgb"))  # short: AF_UNIX paths are limited
    env = private_env(base)
    workspace = base / "work"
    workspace.mkdir()
    os.environ.update(env)  # so that Paths below resolves to the same folders
    from app.client import connect
    from app.paths import Paths

    paths = Paths.from_environment()
    service = start_service(env, paths.socket)
    results: dict[str, list[float]] = {}
    try:
        results["true"] = timed(["true"], env, workspace, args.runs)

        client = connect(paths)
        assert client is not None
        opened = client.request("session.open", workspace=str(workspace), command=["true"], env=env)
        # The plan binds the session's proxy socket: run it while the session is open.
        results["bwrap ... true"] = timed(opened["argv"], opened["env"], workspace, args.runs)
        client.request("session.close", session=opened["session"], exit_code=0)

        def session_open() -> None:
            o = client.request("session.open", workspace=str(workspace), command=["true"], env=env)
            opened_ids.append(o["session"])

        def session_close() -> None:
            client.request("session.close", session=opened_ids.pop(), exit_code=0)

        def connect_only() -> None:
            c = connect(paths)
            assert c is not None
            c.close()

        opened_ids: list[str] = []
        results["client: connect"] = timed_call(connect_only, args.runs)
        results["client: session.open"] = timed_call(session_open, args.runs)
        results["client: session.close"] = timed_call(session_close, args.runs)
        client.close()

        sandgate = [sys.executable, "-m", "app.cli", "run", "--", "true"]
        installed = shutil.which("sandgate")
        if installed and Path(installed).parent == Path(sys.executable).parent:
            sandgate = [installed, "run", "--", "true"]
        results["sandgate run -- true"] = timed(sandgate, env, workspace, args.runs)
        srt = shutil.which("srt")
        if srt:
            before = set(Path(tempfile.gettempdir()).glob("srt-mux-*.sock"))
            results["srt -- true"] = timed([srt, "--", "true"], env, workspace, args.runs)
            # srt leaves a socket per run in the temporary folder; take ours away.
            for leftover in set(Path(tempfile.gettempdir()).glob("srt-mux-*.sock")) - before:
                leftover.unlink(missing_ok=True)
    finally:
        service.terminate()
        service.wait(timeout=10)
    try:
        # For reference: with no service running, `sandgate run` starts one inside itself.
        cold = max(3, args.runs // 10)
        results["sandgate run -- true, no service"] = timed(sandgate, env, workspace, cold)
    finally:
        shutil.rmtree(base, ignore_errors=True)

    plain = statistics.median(results["true"])
    bare = statistics.median(results["bwrap ... true"])
    print(f"{args.runs} runs each (fewer without a service), median wall-clock (p90 in brackets)")
    for name, samples in results.items():
        median = statistics.median(samples)
        p90 = statistics.quantiles(samples, n=10)[-1]
        print(
            f"  {name:34} {median:8.1f} ms  [{p90:7.1f}]   "
            f"x{median / plain:6.1f} of true   x{median / bare:5.2f} of bare bwrap"
        )
    if "srt -- true" not in results:
        print("  srt -- true: not available (npm install -g @anthropic-ai/sandbox-runtime)")
    else:
        ratio = statistics.median(results["sandgate run -- true"]) / statistics.median(
            results["srt -- true"]
        )
        print(f"  sandgate run / srt: x{ratio:.2f}")
    ours = statistics.median(results["sandgate run -- true"])
    verdict = "meets" if ours < TARGET_MS else "misses"
    print(f"sandgate run -- true: {ours:.1f} ms median, {verdict} the {TARGET_MS:.0f} ms target")
    return 0


if __name__ == "__main__":
    sys.exit(main())
