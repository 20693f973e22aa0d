"""A soak run: a long day of agent traffic compressed into a few minutes, with a kill -9.

Everything is real and stays on this machine: a `sandgate service` subprocess in a
temporary HOME, agents that are shell loops of `curl` inside `sandgate run` sandboxes,
an upstream HTTP server on 127.0.0.1 owned by this script, and a "person" thread that
decides held requests through the service socket (some allowed, some denied, some left
to time out). Each agent mixes allowed requests, requests to unknown destinations (held
for a decision), denied ones and malformed clients. Halfway through, the service is
killed with SIGKILL and started again; the agents of the first half find no network
(fail closed), those of the second half work.

It reports the requests the agents made and how they ended, the service's memory and
open descriptors at the start and the end of each service's life, and the record:
every request the proxy answered must be in history (records written == requests
answered). A difference is printed, never hidden.

    .venv/bin/python benchmarks/bench_soak.py [--agents N] [--requests N]

Bounded: at most `--agents` sandboxes per half, `--requests` requests each, a 2 s ask
timeout, every loop finite; loopback only.
"""

from __future__ import annotations

import argparse
import http.server
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.bench_run import private_env  # noqa: E402


class _Upstream(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"ok\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        self.do_GET()

    def log_message(self, *_args: object) -> None:
        pass


def agent_script(index: int, requests: int, port: int, seed: int) -> str:
    """One agent's shell loop: each line prints `KIND STATUS` for one request."""
    rng = random.Random(seed * 1000 + index)
    fetch = "printf '%s %s\\n' {kind} $(curl -s -o /dev/null -w '%{{http_code}}' {url})"
    garbage = ["GARBAGE\\r\\n\\r\\n", "GET / HTTP/9.9\\r\\n\\r\\n", "\\001\\002"]
    lines = []
    for n in range(requests):
        roll = rng.random()
        if roll < 0.55:
            url = f"http://allowed.test:{port}/a{index}-{n}"
            lines.append(fetch.format(kind="allowed", url=url))
        elif roll < 0.75:
            url = f"http://unknown{rng.randrange(6)}.test:{port}/u{index}-{n}"
            lines.append(fetch.format(kind="unknown", url=url))
        elif roll < 0.85:
            url = f"http://blocked.test:{port}/d{index}-{n}"
            lines.append(fetch.format(kind="denied", url=url))
        else:
            lines.append(
                f"printf 'malformed %s\\n' \"$(printf '{rng.choice(garbage)}' | socat -t1 - "
                "TCP:127.0.0.1:3128 2>/dev/null | head -c 12 | tr -c 'A-Za-z0-9/. ' _)\""
            )
    return "\n".join(lines) + "\n"


def person(env: dict[str, str], stop: threading.Event, decided: Counter[str]) -> None:
    """Decides what waits, as a person would: allows a third, denies a third, leaves a
    third to time out. Reconnects when the service is gone."""
    sys.path.insert(0, str(ROOT))
    from app.client import ServiceError, connect
    from app.paths import Paths

    os.environ.update(env)
    paths = Paths.from_environment()
    seen: set[str] = set()
    while not stop.is_set():
        client = connect(paths)
        if client is None:
            time.sleep(0.2)
            continue
        try:
            while not stop.is_set():
                for batch in client.request("queue")["batches"]:
                    waiting = [m for m in batch["members"] if m["waiting"]]
                    if not waiting or batch["batch"] in seen:
                        continue
                    seen.add(batch["batch"])
                    choice = zlib.crc32(batch["signature"].encode()) % 3
                    if choice == 2:
                        decided["left to time out"] += 1
                        continue
                    decision = "allow" if choice == 0 else "deny"
                    for member in waiting:
                        fields = {"member": member["event"]} if len(waiting) > 1 else {}
                        try:
                            client.request(
                                "decide", batch=batch["batch"], decision=decision, **fields
                            )
                            decided[decision] += 1
                        except ServiceError:
                            decided["decide refused"] += 1
                time.sleep(0.1)
        except (ServiceError, OSError):
            pass
        finally:
            client.close()


def service_figures(pid: int) -> tuple[float, int]:
    """Resident memory (MiB) and open descriptors of the service process."""
    rss_kib = 0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            rss_kib = int(line.split()[1])
    return rss_kib / 1024, len(os.listdir(f"/proc/{pid}/fd"))


def start_service(env: dict[str, str]) -> subprocess.Popen[bytes]:
    service = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "service"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    sock = Path(env["XDG_RUNTIME_DIR"]) / "sandgate" / "service.sock"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        probe = socket.socket(socket.AF_UNIX)
        try:
            probe.connect(str(sock))
            probe.close()
            return service
        except OSError:
            probe.close()
            time.sleep(0.05)
    raise SystemExit("the service did not start")


def run_agents(
    env: dict[str, str], base: Path, half: str, agents: int, requests: int, port: int
) -> tuple[list[subprocess.Popen[str]], list[Path]]:
    procs, workspaces = [], []
    for index in range(agents):
        workspace = base / f"{half}-{index}"
        workspace.mkdir()
        script = agent_script(index, requests, port, seed=zlib.crc32(half.encode()))
        procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "app.cli", "run", "--", "/bin/sh", "-c", script],
                cwd=workspace,
                env={**env, "PYTHONPATH": str(ROOT)},
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
        workspaces.append(workspace)
    return procs, workspaces


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=6, help="sandboxes in each half")
    parser.add_argument("--requests", type=int, default=80, help="requests per agent")
    args = parser.parse_args()

    base = Path(tempfile.mkdtemp(prefix="sgsoak"))
    env = private_env(base)
    env["XDG_RUNTIME_DIR"] = str(Path(tempfile.mkdtemp(prefix="sg")))  # short socket paths
    os.chmod(env["XDG_RUNTIME_DIR"], 0o700)
    upstream = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Upstream)
    port = upstream.server_address[1]
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    policy = Path(env["XDG_CONFIG_HOME"]) / "sandgate" / "policy.yaml"
    policy.parent.mkdir(parents=True, exist_ok=True)
    names = ["allowed.test", "blocked.test", *(f"unknown{n}.test" for n in range(6))]
    policy.write_text(
        "network:\n"
        f'  allow: ["allowed.test", "127.0.0.1:{port}"]\n'
        '  deny: ["blocked.test"]\n'
        f"  resolve: {json.dumps(dict.fromkeys(names, '127.0.0.1'))}\n"
        "  ask_timeout: 2\n"
    )

    stop = threading.Event()
    decided: Counter[str] = Counter()
    decider = threading.Thread(target=person, args=(env, stop, decided), daemon=True)
    decider.start()
    outcomes: Counter[str] = Counter()
    figures = []
    started = time.monotonic()
    workspaces: list[Path] = []
    try:
        service = start_service(env)
        time.sleep(1.0)
        figures.append(("first service, start", *service_figures(service.pid)))
        first, spaces = run_agents(env, base, "first", args.agents, args.requests, port)
        workspaces += spaces
        time.sleep(max(4.0, args.requests * 0.05))  # well into the first half's work
        figures.append(("first service, before kill -9", *service_figures(service.pid)))
        service.send_signal(signal.SIGKILL)
        service.wait()
        for proc in first:
            out, _ = proc.communicate(timeout=600)
            outcomes.update(_tally(out, "first half"))
        service = start_service(env)
        time.sleep(1.0)
        figures.append(("second service, start", *service_figures(service.pid)))
        second, spaces = run_agents(env, base, "second", args.agents, args.requests, port)
        workspaces += spaces
        for proc in second:
            out, _ = proc.communicate(timeout=600)
            outcomes.update(_tally(out, "second half"))
        figures.append(("second service, end", *service_figures(service.pid)))
        service.send_signal(signal.SIGTERM)
        service.wait(timeout=30)
    finally:
        stop.set()
        upstream.shutdown()
    elapsed = time.monotonic() - started

    recorded = _recorded(env)
    print(f"soak: {2 * args.agents} sandboxes, {args.requests} requests each, {elapsed:.0f} s")
    print("\nrequests, by how they ended (curl's status; 000 = no answer):")
    for key, count in sorted(outcomes.items()):
        print(f"  {key:40} {count:6}")
    print("\nthe person:", ", ".join(f"{k} {v}" for k, v in sorted(decided.items())))
    print("\nthe service:")
    for label, rss, fds in figures:
        print(f"  {label:32} {rss:7.1f} MiB  {fds:5} descriptors")
    answered = {
        half: sum(
            count
            for key, count in outcomes.items()
            if key.startswith(half) and not key.endswith(" 000") and "malformed" not in key
        )
        for half in ("first half", "second half")
    }
    print("\nthe record (requests the proxy answered with a status vs. request events in history):")
    for half in ("first half", "second half"):
        seen, written = answered[half], recorded.get(half, 0)
        verdict = "equal" if seen == written else f"DIFFER by {written - seen:+d}"
        print(f"  {half:12} answered {seen:6}   recorded {written:6}   {verdict}")
    shutil.rmtree(base, ignore_errors=True)
    shutil.rmtree(env["XDG_RUNTIME_DIR"], ignore_errors=True)
    return 0


def _tally(output: str, half: str) -> Counter[str]:
    counts: Counter[str] = Counter()
    for line in output.splitlines():
        kind, _, status = line.partition(" ")
        counts[f"{half} {kind} {status.strip() or '000'}"] += 1
    return counts


def _recorded(env: dict[str, str]) -> dict[str, int]:
    """net.request events in history, per half, read from the database file."""
    os.environ.update(env)
    from app.paths import Paths
    from app.service.store import Store

    store = Store(Paths.from_environment().database)
    try:
        rows = store.history(limit=1_000_000)
        counts: Counter[str] = Counter()
        for row in rows:
            if row.kind != "net.request":
                continue
            info = store.session(row.session)
            where = info.workspace if info is not None else ""
            half = "first half" if "/first-" in where else "second half"
            counts[half] += 1
        return dict(counts)
    finally:
        store.close()


if __name__ == "__main__":
    sys.exit(main())
