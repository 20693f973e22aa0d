"""A soak run: a long day of agent traffic compressed into a few minutes, with a kill -9.

Everything is real and stays on this machine: a `sandgate service` subprocess in a
temporary HOME, agents that are shell loops of `curl` inside `sandgate run` sandboxes,
an upstream HTTP server on 127.0.0.1 owned by this script, and a "person" thread that
decides held requests through the service socket (some allowed, some denied, some left
to time out). Each agent mixes allowed requests, requests to unknown destinations (held
for a decision), denied ones, malformed clients, and HTTPS whose TLS the proxy
intercepts (to a destination a person allowed for good, after its first request
waited), over HTTP/1.1 and over HTTP/2. Halfway through, the service is killed with
SIGKILL and started again; the agents of the first half find no network (fail closed),
those of the second half work.

The second service first runs a baseline: the same number of agents and requests, all
plain allowed HTTP. The mixed second half that follows is compared with it: request
rate, the service's memory growth per thousand requests, and each kind's median time
(curl's time_total) as a ratio to the baseline's.

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
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.bench_run import private_env  # noqa: E402
from benchmarks.soak_figures import answered, compare, tally  # noqa: E402


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


TLS_HOST = "unknown.test"  # intercepted (no rule allows it); the person allows it for good


def agent_script(
    index: int, requests: int, port: int, tls_port: int, seed: int, mixed: bool = True
) -> str:
    """One agent's shell loop: each line prints `KIND STATUS SECONDS` for one request.
    Not `mixed`: every request is plain allowed HTTP (the baseline)."""
    rng = random.Random(seed * 1000 + index)
    fetch = (
        "printf '%s %s\\n' {kind} \"$(curl -s {extra} -o /dev/null "
        "-w '%{{http_code}} %{{time_total}}' {url})\""
    )
    garbage = ["GARBAGE\\r\\n\\r\\n", "GET / HTTP/9.9\\r\\n\\r\\n", "\\001\\002"]
    lines = []
    for n in range(requests):
        roll = rng.random() if mixed else 0.0
        if roll < 0.45:
            url = f"http://allowed.test:{port}/a{index}-{n}"
            lines.append(fetch.format(kind="allowed", url=url, extra=""))
        elif roll < 0.55:
            url = f"https://{TLS_HOST}:{tls_port}/t{index}-{n}"
            lines.append(fetch.format(kind="tls-http1", url=url, extra="--http1.1"))
        elif roll < 0.65:
            url = f"https://{TLS_HOST}:{tls_port}/h{index}-{n}"
            lines.append(fetch.format(kind="tls-http2", url=url, extra="--http2"))
        elif roll < 0.75:
            url = f"http://unknown{rng.randrange(6)}.test:{port}/u{index}-{n}"
            lines.append(fetch.format(kind="unknown", url=url, extra=""))
        elif roll < 0.85:
            url = f"http://blocked.test:{port}/d{index}-{n}"
            lines.append(fetch.format(kind="denied", url=url, extra=""))
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
                    fields: dict[str, str] = {}
                    if TLS_HOST in batch["signature"]:
                        choice, fields["scope"] = 0, "always"  # its next requests pass
                    if choice == 2:
                        decided["left to time out"] += 1
                        continue
                    decision = "allow" if choice == 0 else "deny"
                    for member in waiting:
                        if len(waiting) > 1:
                            fields["member"] = member["event"]
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
    env: dict[str, str],
    base: Path,
    half: str,
    agents: int,
    requests: int,
    ports: tuple[int, int],
    mixed: bool = True,
) -> tuple[list[subprocess.Popen[str]], list[Path]]:
    procs, workspaces = [], []
    for index in range(agents):
        workspace = base / f"{half}-{index}"
        workspace.mkdir()
        seed = zlib.crc32(half.encode())
        script = agent_script(index, requests, *ports, seed=seed, mixed=mixed)
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


def tls_upstream(folder: Path) -> tuple[http.server.ThreadingHTTPServer, Path]:
    """The upstream over HTTPS, with a CA of its own that the policy names."""
    from tests.proxy.conftest import make_pki

    pki = make_pki(folder / "pki")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pki.cert_pem, pki.key_pem)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Upstream)
    server.daemon_threads = True
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, pki.ca_pem


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
    upstream.daemon_threads = True
    port = upstream.server_address[1]
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    secure, upstream_ca = tls_upstream(base)
    ports = (port, secure.server_address[1])
    policy = Path(env["XDG_CONFIG_HOME"]) / "sandgate" / "policy.yaml"
    policy.parent.mkdir(parents=True, exist_ok=True)
    names = ["allowed.test", "blocked.test", TLS_HOST, *(f"unknown{n}.test" for n in range(6))]
    policy.write_text(
        "network:\n"
        f'  allow: ["allowed.test", "127.0.0.1:{port}", "127.0.0.1:{ports[1]}"]\n'
        '  deny: ["blocked.test"]\n'
        f"  resolve: {json.dumps(dict.fromkeys(names, '127.0.0.1'))}\n"
        "  ask_timeout: 2\n"
        f"  upstream_ca: {upstream_ca}\n"
    )

    stop = threading.Event()
    decided: Counter[str] = Counter()
    decider = threading.Thread(target=person, args=(env, stop, decided), daemon=True)
    decider.start()
    outcomes: Counter[str] = Counter()
    times: dict[str, list[float]] = defaultdict(list)
    figures = []
    phases: dict[str, tuple[float, float, int]] = {}  # seconds, RSS growth, answered
    started = time.monotonic()
    try:
        service = start_service(env)
        time.sleep(1.0)
        figures.append(("first service, start", *service_figures(service.pid)))
        first, _ = run_agents(env, base, "first", args.agents, args.requests, ports)
        time.sleep(max(4.0, args.requests * 0.05))  # well into the first half's work
        figures.append(("first service, before kill -9", *service_figures(service.pid)))
        service.send_signal(signal.SIGKILL)
        service.wait()
        for proc in first:
            out, _ = proc.communicate(timeout=600)
            outcomes.update(tally(out, "first half", times))
        service = start_service(env)
        time.sleep(1.0)
        figures.append(("second service, start", *service_figures(service.pid)))
        for half, mixed in (("baseline", False), ("second", True)):
            name = f"{half} half" if mixed else half
            rss_before = service_figures(service.pid)[0]
            phase_start = time.monotonic()
            procs, _ = run_agents(env, base, half, args.agents, args.requests, ports, mixed)
            counts: Counter[str] = Counter()
            for proc in procs:
                out, _ = proc.communicate(timeout=600)
                counts.update(tally(out, name, times))
            seconds = time.monotonic() - phase_start
            rss_after = service_figures(service.pid)[0]
            figures.append(
                (f"second service, after {name}", rss_after, service_figures(service.pid)[1])
            )
            outcomes.update(counts)
            phases[name] = (seconds, rss_after - rss_before, answered(counts, name))
        figures.append(("second service, end", *service_figures(service.pid)))
        service.send_signal(signal.SIGTERM)
        service.wait(timeout=30)
    finally:
        stop.set()
        upstream.shutdown()
        secure.shutdown()
    elapsed = time.monotonic() - started

    recorded = _recorded(env)
    print(f"soak: {3 * args.agents} sandboxes, {args.requests} requests each, {elapsed:.0f} s")
    print("\nrequests, by how they ended (curl's status; 000 = no answer):")
    for key, count in sorted(outcomes.items()):
        print(f"  {key:40} {count:6}")
    print("\nthe person:", ", ".join(f"{k} {v}" for k, v in sorted(decided.items())))
    print("\nthe service:")
    for label, rss, fds in figures:
        print(f"  {label:40} {rss:7.1f} MiB  {fds:5} descriptors")
    compare(phases, times)
    print("\nthe record (requests the proxy answered with a status vs. request events in history):")
    for half in ("first half", "baseline", "second half"):
        seen = answered(outcomes, half)
        written = recorded.get(half, 0)
        verdict = "equal" if seen == written else f"DIFFER by {written - seen:+d}"
        if half == "first half" and written > seen:
            # Allowed requests are recorded before they go: the kill cut answers after that.
            verdict += " (recorded before they went, then the kill -9 cut the answer)"
        print(f"  {half:12} answered {seen:6}   recorded {written:6}   {verdict}")
    shutil.rmtree(base, ignore_errors=True)
    shutil.rmtree(env["XDG_RUNTIME_DIR"], ignore_errors=True)
    return 0


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
            if "/first-" in where:
                half = "first half"
            elif "/baseline-" in where:
                half = "baseline"
            else:
                half = "second half"
            counts[half] += 1
        return dict(counts)
    finally:
        store.close()


if __name__ == "__main__":
    sys.exit(main())
