"""`sandgate demo`: both incidents of the design, stopped by the real thing, explained.

A scripted agent runs in a real sandbox session of the Sandgate service (the running
one, so the tray shows it, or one started in this process like `sandgate run` does),
with the real egress proxy as its only way out. Two servers listen on 127.0.0.1: an
"outside" collector and a stand-in vendor API bound to a key Sandgate provisions. The
agent does ordinary work, then runs a phished "read the AWS credentials, encode, POST"
script, then uploads workspace files through the allowed API domain with an attacker's
key. For each step the command prints what was tried, what the agent saw, and what
Sandgate decided and why (score, band, reasons), then what the servers received.

Nothing of the user's own is used: the session's home is a throwaway folder with a fake
`~/.aws/credentials`, and the vendor key is handed to the service in memory with the
session (`session.open`'s `secrets`), never stored in the keyring. Exit status 0 when
every incident was refused as expected and the collector received nothing, 1 otherwise.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import queue
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from app.demo.narrate import Printer
    from app.demo.servers import Server

STEP_TIMEOUT = 60.0  # seconds one step may take (the proxy's own waits are shorter)
EVENT_WAIT = 5.0  # seconds to wait for a step's events to be recorded
DEFAULT_PATH = "/usr/local/bin:/usr/bin:/bin"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--keep", action="store_true", help="keep the demo's folder (its path is printed)"
    )


def main(args: argparse.Namespace) -> int:
    try:
        return _demo(args)
    except BrokenPipeError:  # `sandgate demo | head`
        from app.commands.pipes import reader_gone

        return reader_gone()


def _demo(args: argparse.Namespace) -> int:
    from app.client import ServiceError, connect_or_start
    from app.demo.narrate import Printer
    from app.paths import Paths

    paths = Paths.from_environment().ensure()
    out = Printer()
    with _folder(args.keep) as root, _servers(root) as (collector, vendor, scenario):
        out.intro(scenario, collector.port, vendor.port)
        try:
            client = connect_or_start(paths)
        except ServiceError as exc:
            print(f"sandgate demo: {exc}", file=sys.stderr)
            return 1
        try:
            ok = _run(client, scenario, (collector, vendor), out)
        except (ServiceError, _StepFailed) as exc:
            print(f"sandgate demo: {exc}", file=sys.stderr)
            return 1
        finally:
            client.close()
            if client.embedded is not None:
                from app.commands.run import linger

                linger(client.embedded)
        ok = out.summary(scenario, collector.received(), vendor.received()) and ok
        if args.keep:
            print(f"\nThe demo's folder is kept: {root}")
    return 0 if ok else 1


class _StepFailed(Exception):
    """The scripted agent did not get through a step (it hung or its sandbox ended)."""


@contextlib.contextmanager
def _folder(keep: bool) -> Iterator[Path]:
    root = Path(tempfile.mkdtemp(prefix="sandgate-demo-"))
    try:
        yield root
    finally:
        if not keep:
            import shutil

            shutil.rmtree(root, ignore_errors=True)


@contextlib.contextmanager
def _servers(root: Path) -> Iterator[tuple[Any, Any, Any]]:
    from app.demo import scenario, servers

    key = scenario.new_key()
    collector = servers.start_collector()
    try:
        vendor, ca = servers.start_vendor(scenario.VENDOR, key, root)
        try:
            yield collector, vendor, scenario.build(root, key, vendor.port, collector.port, ca)
        finally:
            vendor.stop()
    finally:
        collector.stop()


def _run(client: Any, scenario: Any, servers: tuple[Server, Server], out: Printer) -> bool:
    """Open the session, walk the agent through its steps, close it; True if every
    incident ended as the scenario expects."""
    from app.demo.scenario import CREDENTIAL

    opened = client.request(
        "session.open",
        workspace=str(scenario.workspace),
        command=["sh", "-c", scenario.script()],
        env=scenario.env(os.environ.get("PATH") or DEFAULT_PATH),
        policy_file=str(scenario.policy),
        agent="sandgate-demo",
        tty=False,
        secrets={CREDENTIAL: scenario.provisioned_key},
    )
    session = str(opened["session"])
    out.session(session, client.embedded is not None, opened.get("notice") or [])
    agent = _Agent(opened["argv"], opened["env"])
    seen: set[int] = set()
    ok = True
    code: int | None = None
    try:
        for number, step in enumerate(scenario.steps, 1):
            out.step(number, step)
            if step.tool_call:
                out.asked(_hook_triage(client, session, step.command))
            output, status = agent.step(number)
            out.agent(output, status)
            rows = _events_of(client, session, step.expect, seen)
            ok = out.verdicts(step, rows) and ok
            if step.incident:
                out.received(servers[0].received(), servers[1].received())
            if scenario.provisioned_key in "\n".join(output):
                out.problem("the agent saw the provisioned key")
                ok = False
        code = agent.finish()
    finally:
        agent.kill()
        closed = client.request("session.close", session=session, **_exit(code))
    out.quarantined(closed.get("quarantined") or [])
    return ok


def _exit(code: int | None) -> dict[str, int]:
    return {} if code is None else {"exit_code": code}


def _hook_triage(client: Any, session: str, command: str) -> dict[str, Any]:
    """Score the step's command as a permission hook reports a Bash tool call."""
    event = {"kind": "tool.call", "tool": "Bash", "input": {"command": command}}
    verdict: dict[str, Any] = client.request("session.event", session=session, event=event)[
        "verdict"
    ]
    return verdict


def _events_of(
    client: Any, session: str, expect: tuple[Any, ...], seen: set[int]
) -> list[dict[str, Any]]:
    """The events recorded for this step: new since the last step, not our own tool
    calls. Waits (a little) until each expected one has arrived: a decoy read is seen
    by a file watch, a request is recorded as the proxy decides it."""
    deadline = time.monotonic() + EVENT_WAIT
    while True:
        rows = client.request("history", session=session)["rows"]
        new = [
            r
            for r in rows
            if r["event"] not in seen and r["kind"] not in ("tool.call", "session.start")
        ]
        if all(_matches(new, e) for e in expect) or time.monotonic() > deadline:
            seen.update(r["event"] for r in rows)
            return new
        time.sleep(0.1)


def _matches(rows: list[dict[str, Any]], expect: Any) -> bool:
    # A held or refused request is recorded when seen and its decision when made: wait
    # for the decision too, where one is expected.
    return any(
        r["kind"] == expect.kind
        and expect.host in (None, r["host"])
        and expect.decision in (None, r.get("decision"))
        for r in rows
    )


class _Agent:
    """The sandboxed scripted agent: one line on its standard input starts a step; its
    output is read on a thread, so that a hung step ends in a sentence, not a hang."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        import signal

        def ignore_interrupts() -> None:  # as `session.open` asks (see `sandgate run`)
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.signal(signal.SIGQUIT, signal.SIG_IGN)

        self._proc = subprocess.Popen(
            argv,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            preexec_fn=ignore_interrupts,
        )
        self._lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self._proc.stdout is not None
        for line in self._proc.stdout:
            self._lines.put(line.rstrip("\n"))
        self._lines.put(None)

    def step(self, number: int) -> tuple[list[str], int]:
        """Run step `number`; its output lines and exit status."""
        assert self._proc.stdin is not None
        try:
            self._proc.stdin.write("go\n")
            self._proc.stdin.flush()
        except BrokenPipeError:
            raise _StepFailed(f"the agent's sandbox ended before step {number}") from None
        output: list[str] = []
        deadline = time.monotonic() + STEP_TIMEOUT
        while True:
            try:
                line = self._lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise _StepFailed(f"step {number} did not finish in {STEP_TIMEOUT:.0f} s") from None
            if line is None:
                raise _StepFailed(f"the agent's sandbox ended during step {number}: {output}")
            if line == f"@@step {number}":
                continue
            if line.startswith(f"@@end {number} "):
                return output, int(line.split()[-1])
            output.append(line)

    def finish(self) -> int:
        assert self._proc.stdin is not None
        self._proc.stdin.close()
        return self._proc.wait(timeout=STEP_TIMEOUT)

    def kill(self) -> None:
        if self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()
