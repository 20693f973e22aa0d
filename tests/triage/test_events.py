"""The event model: what parses, and errors that name the field."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from triage.events import (
    EventError,
    FileAccess,
    NetRequest,
    SessionStart,
    ToolCall,
    decode_line,
    parse_event,
)


def ev(**fields: Any) -> dict[str, Any]:
    return {"id": "e1", "session": "s", **fields}


def test_parses_each_kind() -> None:
    start = parse_event(ev(kind="session.start", home="/h", canaries=["c"], bound={"A.com": "p"}))
    assert isinstance(start, SessionStart) and start.bound == {"a.com": "p"}
    assert isinstance(parse_event(ev(kind="file.read", path="~/x")), FileAccess)
    req = parse_event(
        ev(kind="net.request", method="post", url="https://a/", headers={"X-Key": "v"}, body="hé")
    )
    assert isinstance(req, NetRequest)
    assert req.method == "POST" and req.header("x-key") == "v" and req.body == "hé".encode()
    b64 = parse_event(
        ev(
            kind="net.request",
            method="PUT",
            url="https://a/",
            body_b64=base64.b64encode(b"\0\1").decode(),
        )
    )
    assert isinstance(b64, NetRequest) and b64.body == b"\0\1"
    tool = parse_event(ev(kind="tool.call", tool="Bash", input={"command": "ls"}))
    assert isinstance(tool, ToolCall) and tool.input["command"] == "ls"


def test_unknown_fields_are_ignored() -> None:
    event = parse_event(ev(kind="file.read", path="/x", colour="blue", ts=12, agent="codex"))
    assert event.ts == 12.0 and event.agent == "codex"


@pytest.mark.parametrize(
    ("obj", "field", "words"),
    [
        ({"session": "s", "kind": "file.read", "path": "/x"}, "id", "required"),
        (ev(kind="file.read"), "path", "required"),
        (ev(kind="file.read", path=3), "path", "must be a string"),
        (ev(kind="nope"), "kind", "unknown kind"),
        (ev(kind="net.connect", host="h", port="443"), "port", "integer"),
        (ev(kind="net.connect", host="h", port=True), "port", "boolean"),
        (ev(kind="net.connect", host="h", port=70000), "port", "between"),
        (
            ev(kind="net.request", method="GET", url="u", body="a", body_b64="YQ=="),
            "body_b64",
            "not both",
        ),
        (ev(kind="net.request", method="GET", url="u", body_b64="***"), "body_b64", "base64"),
        (ev(kind="net.request", method="GET", url="u", headers={"a": 1}), "headers", "string"),
        (ev(kind="session.start", canaries=[1]), "canaries", "string"),
        (ev(kind="memory.write", path="/w/CLAUDE.md"), "content", "content"),
        (ev(kind="file.read", path="/x", ts="now"), "ts", "number"),
    ],
)
def test_errors_name_the_field(obj: dict[str, Any], field: str, words: str) -> None:
    with pytest.raises(EventError) as info:
        parse_event(obj)
    assert info.value.field == field
    assert words in str(info.value)
    assert info.value.event_id == obj.get("id")


def test_not_an_object() -> None:
    with pytest.raises(EventError, match="JSON object"):
        parse_event([1, 2])


def test_events_are_frozen() -> None:
    event = parse_event(ev(kind="file.read", path="/x"))
    with pytest.raises(AttributeError):
        event.path = "/y"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("line", "words"),
    [
        (b"[" * 100_000 + b"]" * 100_000, "nested more than 100 levels"),
        (b'{"a": ' * 101 + b"1" + b"}" * 101, "nested more than 100 levels"),
        (b'{"id": "x", "port": ' + b"9" * 5000 + b"}", "a number of 5000 digits"),
        (b'{"ts": -' + b"1" * 65 + b"}", "a number of 65 digits"),
        (b'{"ts": NaN}', "NaN is not a JSON number"),
        (b"{not json", "not valid JSON"),
        (b'\xff{"id": 1}', "not valid UTF-8"),
    ],
)
def test_hostile_lines_are_refused_by_name(line: bytes, words: str) -> None:
    with pytest.raises(EventError, match=words):
        decode_line(line)


@pytest.mark.parametrize(
    "line",
    [
        # Near misses: brackets inside strings do not count, nor do wide shallow lists,
        # nor a number just inside the limit.
        b'{"body": "' + b"[{" * 5000 + b'"}',
        b'{"list": [' + b",".join([b"[1]"] * 5000) + b"]}",
        b'{"a": ' * 100 + b"1" + b"}" * 100,
        b'{"n": ' + b"9" * 64 + b', "s": "\\"[[["}',
    ],
)
def test_ordinary_lines_decode(line: bytes) -> None:
    import json

    assert decode_line(line) == json.loads(line)
