"""The system log's sandbox messages, read back as events of one session.

The kernel logs each refusal as `Sandbox: PROCESS(PID) deny(COUNT) OPERATION TARGET`,
where COUNT says how many equal refusals the line stands for; the profile appends its
session's tag (`with message`, see sandbox/seatbelt/profile.py) at the end, which is
how a line is known to belong to a session: a child process has a pid nobody told us.
`log stream --style ndjson` wraps each line in a JSON object (`eventMessage`,
`timestamp`); both forms are read.
`LogFollower` runs the stream for one session and hands each event over as it comes.

Only what triage has a kind for becomes an event: reads (`file-read-data`, ...) as
`file.read`, writes (`file-write-*`, links, renames) as `file.write`, connections to an
address as `net.connect`. A refused `stat` (`file-read-metadata`) is a look at a name,
not a read, and programs do it constantly while searching paths: it is left out, as
are unix-socket connections (no event kind names them) and every other operation.
"""

from __future__ import annotations

import json
import re
import subprocess
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

_LINE = re.compile(
    r"Sandbox: (?P<process>.+?)\((?P<pid>\d+)\) (?P<action>deny|allow)\((?P<count>\d+)\) "
    r"(?P<operation>[a-z0-9*-]+)(?: (?P<target>.*))?\Z",
    re.DOTALL,
)
_READS = ("file-read-data", "file-read-xattr", "file-read*")
_WRITE_PREFIXES = ("file-write", "file-link", "file-clone")
_PORT = re.compile(r"\A(?P<host>.+):(?P<port>\d{1,5})\Z")


@dataclass(frozen=True)
class Violation:
    """One refusal as the system log reported it."""

    process: str
    pid: int
    operation: str
    target: str
    count: int = 1
    ts: float | None = None


def log_stream_argv(tag: str) -> list[str]:
    """The command that streams this session's refusals from the system log (macOS)."""
    return [
        "/usr/bin/log",
        "stream",
        "--style",
        "ndjson",
        "--predicate",
        f'eventMessage ENDSWITH "{tag}"',
    ]


def parse_line(line: str, tag: str) -> Violation | None:
    """The refusal in one log line (plain or ndjson) if it carries `tag`, else None."""
    text = line.strip()
    ts: float | None = None
    if text.startswith("{"):
        try:
            record: Any = json.loads(text)
        except ValueError:
            return None
        if not isinstance(record, dict) or not isinstance(record.get("eventMessage"), str):
            return None
        text = record["eventMessage"].strip()
        ts = _timestamp(record.get("timestamp"))
    else:
        start = text.find("Sandbox: ")
        if start == -1:
            return None
        text = text[start:]
    if not text.endswith(" " + tag) and not text.endswith(" " + tag + ")"):
        return None
    text = text[: text.rfind(" " + tag)]
    match = _LINE.search(text)
    if match is None or match["action"] != "deny":
        return None
    return Violation(
        process=match["process"],
        pid=int(match["pid"]),
        operation=match["operation"],
        target=(match["target"] or "").strip(),
        count=int(match["count"]),
        ts=ts,
    )


def to_event(violation: Violation, session: str, event_id: str) -> dict[str, Any] | None:
    """The events.md event for a refusal, or None when no event kind fits."""
    base: dict[str, Any] = {"id": event_id, "session": session}
    if violation.ts is not None:
        base["ts"] = violation.ts
    operation, target = violation.operation, violation.target
    if operation.startswith("file-"):
        if not target.startswith("/"):
            return None
        if operation in _READS:
            return {**base, "kind": "file.read", "path": target}
        if operation.startswith(_WRITE_PREFIXES):
            return {**base, "kind": "file.write", "path": target}
        return None
    if operation == "network-outbound" and not target.startswith("/"):
        endpoint = _endpoint(target)
        if endpoint is None:
            return None
        host, port = endpoint
        return {**base, "kind": "net.connect", "host": host, "port": port}
    return None


def events(
    lines: Iterable[str], tag: str, session: str, first_id: int = 1
) -> Iterator[dict[str, Any]]:
    """The session's events in a stream of log lines, numbered `SESSION-sb-N`."""
    number = first_id
    for line in lines:
        violation = parse_line(line, tag)
        if violation is None:
            continue
        event = to_event(violation, session, f"{session}-sb-{number}")
        if event is not None:
            number += 1
            yield event


class LogFollower:
    """Streams one session's refusals from the system log into `on_event`, on its own
    thread, until `stop`. Each event is handed over as soon as its line is read (the
    caller records it before anything else is done with it). `argv` is the streaming
    command, `log_stream_argv(tag)` unless given."""

    def __init__(
        self,
        tag: str,
        session: str,
        on_event: Callable[[dict[str, Any]], None],
        argv: Sequence[str] | None = None,
    ) -> None:
        self.tag = tag
        self.session = session
        self.on_event = on_event
        self.argv = list(argv) if argv is not None else log_stream_argv(tag)
        self._process: subprocess.Popen[str] | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._process = subprocess.Popen(
            self.argv,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            stdin=subprocess.DEVNULL,
            text=True,
            encoding="utf-8",
            errors="replace",
        )
        self._thread = threading.Thread(target=self._read, name=f"seatbelt-log-{self.session}")
        self._thread.daemon = True
        self._thread.start()

    def _read(self) -> None:
        assert self._process is not None and self._process.stdout is not None
        for event in events(self._process.stdout, self.tag, self.session):
            self.on_event(event)

    def stop(self, timeout: float = 5.0) -> None:
        """End the stream and wait for the lines already read to be handed over."""
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
        if self._process is not None:
            self._process.wait(timeout)
        if self._thread is not None:
            self._thread.join(timeout)


def _endpoint(target: str) -> tuple[str, int] | None:
    """`1.2.3.4:443`, `[2001:db8::1]:443`, `2001:db8::1:443` or `localhost:80`."""
    if target.startswith("["):
        close = target.find("]:")
        if close == -1 or not target[close + 2 :].isdigit():
            return None
        return target[1:close], int(target[close + 2 :])
    match = _PORT.match(target)
    if match is None:
        return None
    port = int(match["port"])
    return (match["host"], port) if port <= 65535 else None


def _timestamp(value: object) -> float | None:
    """`2026-12-01 20:18:48.123456+0000`, as `log` writes it, in seconds."""
    if not isinstance(value, str):
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d %H:%M:%S.%f%z").timestamp()
    except ValueError:
        return None
