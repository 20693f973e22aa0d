"""`sandgate hook claude-code` on the agent's critical path: one low-risk call, end to end.

The agent runs the hook before every tool call, so its whole cost counts: process
start, reading the payload, the round trip to the service (which triages and records
the call), the answer on standard output. Measured in one run, as medians of many:

- `python3 -c pass` with the hook's own interpreter, the floor any Python hook pays;
- the hook as inside a sandbox: over the session's channel (the session opened for
  real, with the default policy), answering `allow` for a `Bash ls`;
- the hook outside a sandbox: over the service socket, answering nothing (the agent's
  own permission mode applies) for the same call.

The service is a real `sandgate service` subprocess in a temporary HOME and XDG tree.
Target: under 30 ms median, and under 2x the `python3 -c pass` baseline.

    .venv/bin/python benchmarks/bench_hook.py [--runs N]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from bench_run import ROOT, private_env, start_service
from bench_run import timed as run_timed

TARGET_MS = 30.0
PAYLOAD = {
    "session_id": "bench",
    "transcript_path": "/dev/null",
    "cwd": "/",
    "permission_mode": "default",
    "hook_event_name": "PreToolUse",
    "tool_name": "Bash",
    "tool_input": {"command": "ls", "description": "List files"},
    "tool_use_id": "toolu_bench",
}


def timed(command: Sequence[str], env: Mapping[str, str], stdin: bytes, runs: int) -> list[float]:
    """Milliseconds of each of `runs` runs, fed `stdin` (after three warm-ups)."""
    return run_timed(command, env, None, runs, stdin=stdin, warmups=3)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=60)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    base = Path(tempfile.mkdtemp(prefix="sgh"))  # short: the channel's socket path
    env = private_env(base)
    workspace = base / "work"
    workspace.mkdir()
    os.environ.update(env)  # so that Paths below resolves to the same folders
    from app.client import connect
    from app.paths import Paths

    paths = Paths.from_environment()
    service = start_service(env, paths.socket)
    try:
        client = connect(paths)
        assert client is not None
        opened = client.request(
            "session.open", workspace=str(workspace), command=["claude"], env=env, agent="claude"
        )
        channel = paths.sessions / opened["session"] / "channel.sock"
        hook = [str(Path(sys.executable).parent / "sandgate"), "hook", "claude-code"]
        stdin = json.dumps({**PAYLOAD, "cwd": str(workspace)}).encode()
        inside = {**env, "SANDGATE_CHANNEL": str(channel)}
        answer = subprocess.run(hook, env=inside, input=stdin, capture_output=True).stdout
        assert json.loads(answer)["hookSpecificOutput"]["permissionDecision"] == "allow", answer
        # The hook's own interpreter: a `python3` on PATH may be a slow shim (pyenv).
        python3 = sys.executable
        rows = {
            "python3 -c pass": timed([python3, "-c", "pass"], env, b"", args.runs),
            "hook, inside (channel)": timed(hook, inside, stdin, args.runs),
            "hook, outside (service socket)": timed(hook, env, stdin, args.runs),
        }
        client.request("session.close", session=opened["session"])
        client.close()
    finally:
        service.terminate()
        service.wait(timeout=10)
        shutil.rmtree(base, ignore_errors=True)
    floor = statistics.median(rows["python3 -c pass"])
    print(f"{'':32} {'median ms':>10} {'p90 ms':>8} {'x python3':>10}")
    for name, samples in rows.items():
        median = statistics.median(samples)
        p90 = statistics.quantiles(samples, n=10)[-1]
        print(f"{name:32} {median:10.1f} {p90:8.1f} {median / floor:10.2f}")
    worst = max(statistics.median(s) for n, s in rows.items() if n.startswith("hook"))
    verdict = "meets" if worst < TARGET_MS and worst < 2 * floor else "misses"
    print(f"\ntarget: under {TARGET_MS:.0f} ms median and under 2x python3 -c pass: {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
