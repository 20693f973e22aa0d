"""Behaviour 19: exit codes and signals forwarded, the terminal works, nothing outlives
the agent. The sandbox is started by `sandgate run`'s own `spawn`."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import select
import shlex
import signal
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path
from typing import TYPE_CHECKING

from app.commands.run import spawn

if TYPE_CHECKING:
    from tests.sandbox.conftest import Box

ROOT = Path(__file__).resolve().parents[2]
RUNNER = (
    "import json, sys; from app.commands.run import spawn; "
    "d = json.load(open(sys.argv[1])); sys.exit(spawn(d['argv'], d['env']))"
)


def _runner(box: Box, script: str, tty: bool = False) -> list[str]:
    plan = box.plan(["/bin/bash", "-c", script], tty=tty)
    spec = box.state / "plan.json"
    spec.write_text(json.dumps({"argv": list(plan.argv), "env": dict(plan.env)}))
    return [sys.executable, "-c", RUNNER, str(spec)]


def test_19_exit_codes_are_forwarded(box: Box) -> None:
    plan = box.plan(["/bin/sh", "-c", "exit 7"])
    assert spawn(plan.argv, plan.env) == 7
    plan = box.plan(["/bin/sh", "-c", "kill -KILL $$"])
    assert spawn(plan.argv, plan.env) == 128 + signal.SIGKILL
    plan = box.plan(["/no/such/agent"])
    assert spawn(plan.argv, plan.env) != 0


def test_19_sigterm_reaches_the_agent(box: Box) -> None:
    argv = _runner(box, "trap 'echo got-term; exit 5' TERM; echo ready; sleep 20 & wait")
    proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    time.sleep(0.1)
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=10)
    assert "got-term" in out
    assert proc.returncode == 5


def test_19_everything_started_inside_ends_with_the_agent(box: Box) -> None:
    plan = box.plan(
        ["/bin/sh", "-c", "(sleep 0.5; touch late) & nohup sh -c 'sleep 0.5; touch late2' & exit 0"]
    )
    started = time.monotonic()
    assert spawn(plan.argv, plan.env) == 0
    assert time.monotonic() - started < 0.5
    time.sleep(0.8)
    assert not (box.workspace / "late").exists()
    assert not (box.workspace / "late2").exists()


def _read_until(fd: int, needle: bytes, timeout: float = 10.0) -> bytes:
    data = b""
    deadline = time.monotonic() + timeout
    while needle not in data and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            data += chunk
    return data


def test_19_a_terminal_agent_gets_a_working_tty(box: Box) -> None:
    script = r"""
    [ -t 0 ] && [ -t 1 ] && echo IS-TTY
    echo "SIZE $(stty size)"
    /usr/bin/python3 -c '
import fcntl, termios
try:
    fcntl.ioctl(0, termios.TIOCSTI, b"x"); print("TIOCSTI-WORKS")
except OSError as e:
    print("TIOCSTI-REFUSED", e.errno)
'
    trap 'echo "WINCH $(stty size)"' WINCH
    trap 'echo GOT-INT' INT
    echo READY
    read -r line; echo "READ $line"
    for i in 1 2 3 4 5 6 7 8 9 10; do sleep 0.1; done
    echo DONE; exit 3
    """
    argv = _runner(box, script, tty=True)
    pid, master = pty.fork()
    if pid == 0:  # pragma: no cover - the child
        os.chdir(ROOT)
        os.execv(argv[0], argv)
    try:
        fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", 33, 101, 0, 0))
        out = _read_until(master, b"READY")
        os.write(master, b"hello\n")
        out += _read_until(master, b"READ hello")
        fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
        out += _read_until(master, b"WINCH")
        os.write(master, b"\x03")  # Ctrl-C: the agent handles it, the sandbox survives
        out += _read_until(master, b"DONE")
    finally:
        _, status = os.waitpid(pid, 0)
        os.close(master)
    text = out.decode(errors="replace")
    assert "IS-TTY" in text
    assert "SIZE 33 101" in text
    assert "TIOCSTI-REFUSED" in text and "TIOCSTI-WORKS" not in text
    assert "READ hello" in text
    assert "WINCH 40 120" in text
    assert "GOT-INT" in text and "DONE" in text, text
    assert os.waitstatus_to_exitcode(status) == 3


def test_19_without_a_terminal_the_agent_gets_a_new_session(box: Box) -> None:
    plan = box.plan(["/bin/sh", "-c", "true"])
    assert "--new-session" in plan.argv
    assert "--new-session" not in box.plan(["/bin/sh"], tty=True).argv


def test_19_job_control_suspends_and_resumes_the_agent(box: Box) -> None:
    """Ctrl-Z in the user's shell stops the whole job (sandbox included); `fg` resumes it."""
    argv = _runner(box, "echo started; sleep 0.6; echo finished; exit 9", tty=True)
    command = shlex.join(argv)
    pid, master = pty.fork()
    if pid == 0:  # pragma: no cover - the child
        os.chdir(ROOT)
        os.execvp("bash", ["bash", "--norc", "--noprofile", "-i"])
    try:
        os.write(master, f"{command}\n".encode())
        out = _read_until(master, b"started\r\n")
        os.write(master, b"\x1a")
        out += _read_until(master, b"Stopped")
        time.sleep(0.8)  # long enough to finish, had it not been stopped
        os.write(master, b"echo MARK\n")
        out += _read_until(master, b"MARK\r\n")
        assert b"finished\r\n" not in out
        os.write(master, b"fg\n")
        out += _read_until(master, b"finished\r\n")
        os.write(master, b"echo rc=$?; exit\n")
        out += _read_until(master, b"rc=9")
    finally:
        os.waitpid(pid, 0)
        os.close(master)
    assert b"rc=9" in out, out.decode(errors="replace")
