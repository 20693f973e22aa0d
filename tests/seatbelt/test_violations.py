"""The system log's sandbox messages, as `log stream` writes them, read back as events."""

from __future__ import annotations

import json
import time
from pathlib import Path

from sandbox.seatbelt.violations import (
    LogFollower,
    events,
    log_stream_argv,
    parse_line,
    to_event,
)

TAG = "sandgate-0123456789abcdef"


def _ndjson(message: str, ts: str = "2026-12-01 20:18:48.123456+0000") -> str:
    return json.dumps(
        {
            "timestamp": ts,
            "messageType": "Error",
            "eventType": "logEvent",
            "processID": 0,
            "senderImagePath": "/System/Library/Extensions/Sandbox.kext/Contents/MacOS/Sandbox",
            "eventMessage": message,
        }
    )


LINES = [
    # Recorded-looking lines: plain `log stream` output and its ndjson form.
    "2026-12-01 20:18:48.123456+0000 0x1a2b  Error  0x0  0  0  kernel: (Sandbox) "
    f"Sandbox: cat(4242) deny(1) file-read-data /Users/ann/.aws/credentials {TAG}",
    _ndjson(f"Sandbox: node(5151) deny(3) file-write-create /Users/ann/proj/.git/hooks/x {TAG}"),
    _ndjson(f"Sandbox: curl(6161) deny(1) network-outbound 93.184.216.34:443 {TAG}"),
    _ndjson(f"Sandbox: python3.11(7171) deny(1) network-outbound [2001:db8::1]:443 {TAG}"),
    # Ours but without an event kind: a stat, a unix socket, a mach lookup.
    _ndjson(f"Sandbox: ls(8181) deny(1) file-read-metadata /Users/ann/Documents {TAG}"),
    _ndjson(f"Sandbox: node(5151) deny(1) network-outbound /private/var/run/docker.sock {TAG}"),
    _ndjson(f"Sandbox: gh(9191) deny(1) mach-lookup com.apple.trustd.agent {TAG}"),
    # Someone else's sandbox, another session, and noise.
    _ndjson("Sandbox: Safari(100) deny(1) file-read-data /Users/ann/.ssh/id_rsa"),
    _ndjson("Sandbox: cat(4243) deny(1) file-read-data /etc/x sandgate-ffffffffffffffff"),
    "not json and not a sandbox line",
    "{broken json",
]


def test_events_of_the_session_only() -> None:
    found = list(events(LINES, TAG, "s7"))
    assert [(e["kind"], e.get("path") or (e["host"], e["port"])) for e in found] == [
        ("file.read", "/Users/ann/.aws/credentials"),
        ("file.write", "/Users/ann/proj/.git/hooks/x"),
        ("net.connect", ("93.184.216.34", 443)),
        ("net.connect", ("2001:db8::1", 443)),
    ]
    assert [e["id"] for e in found] == ["s7-sb-1", "s7-sb-2", "s7-sb-3", "s7-sb-4"]
    assert all(e["session"] == "s7" for e in found)
    assert found[1]["ts"] == 1796156328.123456


def test_process_names_with_spaces_and_parentheses() -> None:
    line = _ndjson(
        f"Sandbox: Code Helper (Plugin)(3030) deny(2) file-read-data /Users/a b/.netrc {TAG}"
    )
    violation = parse_line(line, TAG)
    assert violation is not None
    assert (violation.process, violation.pid, violation.count) == ("Code Helper (Plugin)", 3030, 2)
    assert violation.target == "/Users/a b/.netrc"  # a path with a space survives
    event = to_event(violation, "s1", "e1")
    assert event == {
        "id": "e1",
        "session": "s1",
        "ts": event["ts"],
        "kind": "file.read",
        "path": "/Users/a b/.netrc",
    }


def test_the_tag_must_end_the_line() -> None:
    assert parse_line(f"Sandbox: cat(1) deny(1) file-read-data /{TAG}/x", TAG) is None
    assert parse_line(f"Sandbox: cat(1) deny(1) file-read-data /x {TAG}x", TAG) is None


def test_log_stream_predicate_names_the_tag() -> None:
    argv = log_stream_argv(TAG)
    assert argv[:4] == ["/usr/bin/log", "stream", "--style", "ndjson"]
    assert argv[-1] == f'eventMessage ENDSWITH "{TAG}"'


def test_follower_hands_over_events_from_a_real_stream(tmp_path: Path) -> None:
    # A real process stands in for macOS's `log stream`, writing the recorded lines.
    recorded = tmp_path / "log.ndjson"
    recorded.write_text("\n".join(LINES) + "\n")
    seen: list[dict[str, object]] = []
    follower = LogFollower(TAG, "s9", seen.append, argv=["cat", str(recorded)])
    follower.start()
    deadline = time.monotonic() + 10
    while len(seen) < 4 and time.monotonic() < deadline:
        time.sleep(0.01)
    follower.stop()
    assert [e["kind"] for e in seen] == ["file.read", "file.write", "net.connect", "net.connect"]
    assert seen[0]["path"] == "/Users/ann/.aws/credentials"


def test_follower_stops_a_stream_that_never_ends() -> None:
    follower = LogFollower(TAG, "s9", lambda event: None, argv=["sleep", "60"])
    follower.start()
    started = time.monotonic()
    follower.stop()
    assert time.monotonic() - started < 5
