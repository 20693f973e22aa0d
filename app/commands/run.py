"""`sandgate run [options] -- CMD [ARGS...]`: run an agent inside the sandbox.

The service plans the session (`session.open` gives the bwrap command line and its
environment); this command shows unreviewed memory-file changes and starts nothing
until they are accepted, runs the sandbox as its child on the same terminal, forwards
the exit status (128+N for a signal), and closes the session (which quarantines
protected files created or changed inside).

Signals: the child stays in this process group, so the terminal's own job control
(Ctrl-Z, `fg`, window-size changes) reaches the agent directly. Ctrl-C and Ctrl-\\
are ignored here and by bwrap's outer process (which would otherwise die and take the
sandbox with it); the agent gets them at their defaults again. SIGTERM and SIGHUP sent
to this process are passed on to the agent.

Everything imported before the agent starts is standard library, and little of it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
from pathlib import Path

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing and argparse cost more to import than this whole module
    import argparse
    from collections.abc import Callable, Mapping, Sequence
    from typing import Any

FORWARDED = (signal.SIGTERM, signal.SIGHUP)


def configure(parser: argparse.ArgumentParser) -> None:
    import argparse

    parser.add_argument("--workspace", type=Path, default=None, help="default: current folder")
    parser.add_argument("--profile", help="agent profile (default: chosen by the command name)")
    parser.add_argument("--policy", type=Path, help="an extra policy file for this session")
    parser.add_argument(
        "--accept-memory",
        action="store_true",
        help="accept unreviewed changes to memory files (CLAUDE.md, AGENTS.md, ...)",
    )
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- CMD [ARGS...]")


class _Args:
    """What `configure` would give, for the command lines `parse_quickly` understands."""

    def __init__(self) -> None:
        self.workspace: Path | None = None
        self.profile: str | None = None
        self.policy: Path | None = None
        self.accept_memory = False
        self.command: list[str] = []


_VALUED = {"--workspace": "workspace", "--profile": "profile", "--policy": "policy"}


def parse_quickly(argv: Sequence[str]) -> Any:
    """Parse `[--workspace DIR] [--profile NAME] [--policy FILE] [--accept-memory] --
    CMD...` without argparse; None for anything else (help, typos), which argparse
    then parses and explains."""
    args = _Args()
    i = 0
    while i < len(argv):
        word = argv[i]
        if word == "--":
            args.command = list(argv[i + 1 :])
            return args if args.command else None
        if word == "--accept-memory":
            args.accept_memory = True
        elif word in _VALUED and i + 1 < len(argv):
            value = argv[i + 1]
            i += 1
            setattr(args, _VALUED[word], value if word == "--profile" else Path(value))
        else:
            return None
        i += 1
    return None


def main(args: argparse.Namespace) -> int:
    command = list(args.command)
    if command and command[0] == "--":
        command = command[1:]
    if not command:
        print(
            "sandgate run: give the command after --, e.g. sandgate run -- claude", file=sys.stderr
        )
        return 2
    if os.environ.get("SANDGATE_CHANNEL"):
        from app.commands.run_child import run_inside

        return run_inside(args, command)
    from app.client import ServiceError, connect_or_start
    from app.paths import Paths

    paths = Paths.from_environment().ensure()
    workspace = (args.workspace or Path.cwd()).resolve()
    fields: dict[str, Any] = {
        "workspace": str(workspace),
        "command": command,
        "env": {**os.environ, "PWD": os.getcwd()},  # the agent starts where we are
        "tty": sys.stdin.isatty(),
        "agent": os.path.basename(command[0]),
    }
    if args.profile:
        fields["profile"] = args.profile
    if args.policy:
        fields["policy_file"] = str(args.policy.resolve())
    try:
        client = connect_or_start(paths)
        opened = client.request("session.open", **fields)
    except ServiceError as exc:
        print(f"sandgate: {exc}", file=sys.stderr)
        return 1
    session = str(opened["session"])
    for line in opened.get("notice") or []:
        print(
            f"sandgate: {line}" if not str(line).startswith("sandgate") else line, file=sys.stderr
        )
    review = opened.get("memory_review") or []
    if review and not review_memory(review, args.accept_memory):
        _close(client, session, None)
        print(
            "sandgate: not started: memory files changed since they were last reviewed "
            "(rerun with --accept-memory once you have read them)",
            file=sys.stderr,
        )
        return 1
    if review:
        try:
            client.request("memory.accept", workspace=str(workspace))
        except ServiceError as exc:
            print(f"sandgate: {exc}", file=sys.stderr)
            _close(client, session, None)
            return 1
    notices: list[WaitingNotices] = []

    def started() -> None:
        # Only a session with a network can have requests waiting for a person; the
        # watch starts once the agent has, so it costs the agent's start nothing.
        if opened.get("network"):
            notices.append(WaitingNotices(paths, session))

    try:
        code = spawn(opened["argv"], opened["env"], started)
    except BaseException:
        for notice in notices:
            notice.stop(wait=0)
        raise
    quarantined = _close(client, session, code)
    for notice in notices:
        notice.stop()  # once it has said what the session's last requests got
    embedded = getattr(client, "embedded", None)
    if embedded is not None:
        linger(embedded)
    if quarantined:
        print(
            "sandgate: protected files created or changed in the session are held for "
            "review (not in your workspace any more):",
            file=sys.stderr,
        )
        for path in quarantined:
            print(f"  {visible(str(path))}", file=sys.stderr)
    return code


class WaitingNotices:
    """One line on this terminal when a request of the session starts waiting for a
    person, and one when it is decided: a `watch` of this session, read on a thread
    (started after the agent, so it costs `sandgate run`'s start nothing)."""

    def __init__(self, paths: Any, session: str) -> None:
        import _thread  # built in: `threading` costs milliseconds to import

        self.paths = paths
        self.session = session
        self.hosts: dict[str, str] = {}  # batch -> what we said it waits for
        self.events: set[str] = set()  # this session's requests we said wait
        self.client: Any = None
        self.stopped = False
        self.done = _thread.allocate_lock()  # released when the stream is read to its end
        self.done.acquire()
        _thread.start_new_thread(self._run, ())

    def _run(self) -> None:
        from app.client import ServiceError, connect

        try:
            self.client = connect(self.paths)
            if self.client is None or self.stopped:
                return
            reply = self.client.request("watch", session=self.session)
            for batch in reply["state"].get("batches", []):
                for member in batch["members"]:
                    self._seen(batch["batch"], member)
            if not reply["state"].get("sessions"):
                return  # closed already: the state said everything
            for change in self.client.changes():
                if change.get("change") == "session.closed":
                    return  # the stream is in order: nothing of the session follows
                self._change(change)
        except (ServiceError, OSError, ValueError):
            return  # the notices are a courtesy; the request is still in the queue
        finally:
            self.done.release()

    def _change(self, change: dict[str, Any]) -> None:
        name = change.get("change")
        if name in ("recording.failed", "recording.restored"):
            self._say(str(change.get("reason", "")))  # the session's network went or came back
        elif name in ("batch.added", "batch.joined"):
            self._seen(change["batch"]["batch"], change["member"])
        elif name == "batch.decided" and change.get("batch") in self.hosts:
            if change.get("member") not in (None, *self.events):
                return  # one request of the batch, another session's
            what = self.hosts.pop(change["batch"])
            decision = "allowed" if change.get("decision") == "allow" else "denied"
            self._say(f"{what}: {decision} ({change.get('scope')}) by a person")
        elif name == "batch.expired" and change["batch"]["batch"] in self.hosts:
            member = change.get("member") or {}
            if member.get("session") == self.session:
                what = self.hosts.pop(change["batch"]["batch"])
                self._say(f"{what}: denied, no decision in time")

    def _seen(self, batch: str, member: dict[str, Any]) -> None:
        if member.get("session") != self.session:
            return
        if member.get("answer") == "paused":
            what = _destination(str(member.get("summary", "")))
            self._say(f"{what}: denied at once, asking is paused (listed for review)")
            return
        if not member.get("waiting"):
            return
        self.events.add(str(member.get("event")))
        if batch not in self.hosts:
            self.hosts[batch] = _destination(str(member.get("summary", "")))
            self._say(f"waiting for your decision: {self.hosts[batch]} — tray or `sandgate queue`")

    @staticmethod
    def _say(text: str) -> None:
        print(f"sandgate: {visible(text)}", file=sys.stderr, flush=True)

    def stop(self, wait: float = 1.0) -> None:
        """Call after the session is closed: waits (at most `wait` seconds) until every
        change before its close has been said, then hangs up."""
        self.done.acquire(timeout=wait)
        self.stopped = True
        if self.client is not None:
            self.client.close()


def _destination(summary: str) -> str:
    """The host a queue member's summary (`GET https://host/path` or `host:port`) names."""
    target = summary.split()[-1] if summary.split() else summary
    if "://" in target:
        from urllib.parse import urlsplit

        try:
            return urlsplit(target).hostname or target
        except ValueError:
            return target
    return target.rsplit(":", 1)[0] if ":" in target else target


def _close(client: Any, session: str, code: int | None) -> list[str]:
    fields: dict[str, Any] = {"session": session}
    if code is not None:
        fields["exit_code"] = code
    try:
        closed = client.request("session.close", **fields)
    except Exception as exc:  # the agent's exit status matters more than the close
        print(f"sandgate: could not close the session: {exc}", file=sys.stderr)
        return []
    return [str(p) for p in closed.get("quarantined") or []]


def linger(embedded: Any, poll: float = 0.2) -> None:
    """Stop the service this process started, once no other session needs it.

    A `sandgate run` that found no service started one in its own process, and later
    runs from other terminals use it. Leaving at once would close their sessions under
    them (no network, protected files unchecked), so this waits for them and says so;
    Ctrl-C stops waiting and closes them, which fails closed.
    """
    others = embedded.open_sessions()
    if others:
        print(
            f"sandgate: this process runs the Sandgate service for {others} other session(s); "
            "waiting for them to end (Ctrl-C closes them)",
            file=sys.stderr,
        )
        with contextlib.suppress(KeyboardInterrupt):
            while embedded.open_sessions():
                time.sleep(poll)
    embedded.stop()


def review_memory(review: Sequence[Mapping[str, Any]], accepted: bool) -> bool:
    """Show each unreviewed memory change; True if accepted (flag, or a yes on a TTY)."""
    err = sys.stderr
    print("sandgate: agent memory files changed since you last reviewed them:", file=err)
    for item in review:
        print(f"\n== {visible(str(item.get('path', '?')))}", file=err)
        print(visible(str(item.get("diff", ""))), file=err)
    if accepted:
        return True
    if not (sys.stdin.isatty() and err.isatty()):
        return False
    try:
        answer = input("Accept these changes and start the agent? [y/N] ")
    except EOFError:
        return False
    return answer.strip().lower() in ("y", "yes")


def visible(text: str) -> str:
    """Agent-written text with control and bidirectional-override characters escaped."""
    out = []
    for char in text:
        code = ord(char)
        if char in "\n\t":
            out.append(char)
        elif code < 0x20 or code == 0x7F or 0x80 <= code < 0xA0 or _is_format(code):
            out.append(f"\\u{code:04x}")
        else:
            out.append(char)
    return "".join(out)


def _is_format(code: int) -> bool:
    # Bidirectional overrides and isolates, zero-width characters, BOM.
    return (
        0x200B <= code <= 0x200F
        or 0x202A <= code <= 0x202E
        or 0x2066 <= code <= 0x2069
        or (code == 0xFEFF)
    )


def spawn(
    argv: Sequence[str], env: Mapping[str, str], started: Callable[[], None] | None = None
) -> int:
    """Run the sandbox as a child on this terminal and return its exit status
    (128+N when it ended by signal N); `started` is called once the child runs."""
    ignored = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGQUIT)}
    pid = 0
    previous: dict[signal.Signals, Any] = {}

    def forward(signum: int, _frame: object) -> None:
        if pid:
            _deliver(pid, signum)

    try:
        for sig in FORWARDED:
            previous[sig] = signal.signal(sig, forward)
        # SIG_IGN of SIGINT/SIGQUIT is inherited on purpose (see the module docstring);
        # SIGPIPE and SIGXFSZ, which Python ignores, go back to their defaults.
        pid = os.posix_spawnp(
            argv[0], list(argv), dict(env), setsigdef=(signal.SIGPIPE, signal.SIGXFSZ)
        )
        if started is not None:
            with contextlib.suppress(Exception):  # a courtesy must never orphan the agent
                started()
        _, status = os.waitpid(pid, 0)
    finally:
        for sig, handler in (*ignored.items(), *previous.items()):
            signal.signal(sig, handler)
    code = os.waitstatus_to_exitcode(status)
    return 128 - code if code < 0 else code


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as handle:
            return [int(x) for x in handle.read().split()]
    except (OSError, ValueError):
        return []


def _deliver(bwrap_pid: int, signum: int) -> None:
    """Signal the agent: bwrap -> the namespace's init -> the agent. If it cannot be
    found, signal bwrap itself (which then ends the whole sandbox)."""
    target = bwrap_pid
    for init in _children(bwrap_pid):
        agents = _children(init)
        if agents:
            target = agents[0]
            break
    with contextlib.suppress(ProcessLookupError):
        os.kill(target, signum)
