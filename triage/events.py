"""The event model of `events.md`: what triage reads, as frozen records.

`parse_event` is the only way in from JSON: it checks every field the contract names
and raises `EventError` naming the field and the problem. Unknown extra fields are
ignored, an unknown `kind` is an error. Paths are kept as written (a leading `~` is
resolved later against the session's home, which only the engine knows).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, TypeVar

KINDS = (
    "session.start",
    "file.read",
    "file.write",
    "net.connect",
    "net.request",
    "exec",
    "tool.call",
    "memory.write",
)

_EMPTY: Mapping[str, Any] = MappingProxyType({})

# Limits of a JSON line that `decode_line` accepts. No event nests deeper than a few
# levels (a tool's input, a header map), and no number of one has more digits than a
# time or a port; past these, the line is refused by name before anything recurses
# over it or converts it (Python's int() refuses 4,300 digits with a ValueError).
MAX_DEPTH = 100
MAX_DIGITS = 64
# A string token (its end quote optional, so an unterminated one is one match, not a
# rescan from every quote), or a bracket.
_STRINGS = re.compile(rb'"(?:[^"\\]|\\.)*"?', re.DOTALL)
_NOT_BRACKETS = re.compile(rb"[^\[\]{}]+")


class EventError(ValueError):
    """An event that breaks the contract. `field` names the culprit (None: the whole event)."""

    def __init__(self, field: str | None, problem: str, event_id: str | None = None) -> None:
        self.field = field
        self.problem = problem
        self.event_id = event_id
        super().__init__(f"field {field!r}: {problem}" if field else problem)


@dataclass(frozen=True)
class Event:
    """Fields common to every kind."""

    id: str
    session: str
    kind: str
    ts: float | None = None
    agent: str | None = None


@dataclass(frozen=True)
class SessionStart(Event):
    workspace: str | None = None
    home: str | None = None
    canaries: tuple[str, ...] = ()
    bound: Mapping[str, str] = field(default_factory=lambda: _EMPTY)
    placeholders: tuple[str, ...] = ()  # the session's own, bound to a vendor, not a domain
    logins: tuple[str, ...] = ()  # the agent's own login files: reading them is not a theft
    own_domains: tuple[str, ...] = ()  # its vendor's endpoints: never a new destination


@dataclass(frozen=True)
class FileAccess(Event):
    """`file.read` or `file.write`."""

    path: str = ""


@dataclass(frozen=True)
class NetConnect(Event):
    host: str = ""
    port: int = 0


@dataclass(frozen=True)
class NetRequest(Event):
    method: str = "GET"
    url: str = ""
    headers: tuple[tuple[str, str], ...] = ()  # (lower-cased name, value), input order
    body: bytes = b""  # `body` as UTF-8, or `body_b64` decoded

    def header(self, name: str) -> str | None:
        """The first value of a header, by case-insensitive name."""
        name = name.lower()
        for key, value in self.headers:
            if key == name:
                return value
        return None


@dataclass(frozen=True)
class Exec(Event):
    command: str = ""
    cwd: str | None = None


@dataclass(frozen=True)
class ToolCall(Event):
    tool: str = ""
    input: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)


@dataclass(frozen=True)
class MemoryWrite(Event):
    path: str = ""
    content: str | None = None
    diff: str | None = None


def decode_line(line: bytes | str) -> Any:
    """One line of JSON Lines as a Python value.

    Raises EventError(None, sentence) when the line is not valid JSON, nests deeper than
    MAX_DEPTH, or holds an integer of more than MAX_DIGITS digits, so that a hostile line
    is one error among the others and never a traceback that ends the run.
    """
    raw = line.encode("utf-8", "surrogatepass") if isinstance(line, str) else line
    if raw.count(b"[") + raw.count(b"{") > MAX_DEPTH:
        depth = _depth(raw)
        if depth > MAX_DEPTH:
            raise EventError(None, f"JSON nested more than {MAX_DEPTH} levels deep")
    try:
        return json.loads(raw, parse_int=_integer, parse_constant=_constant)
    except EventError:
        raise
    except RecursionError:  # unreachable past the depth check; kept as the last guard
        raise EventError(None, f"JSON nested more than {MAX_DEPTH} levels deep") from None
    except UnicodeDecodeError as exc:
        raise EventError(None, f"not valid UTF-8 ({exc.reason} at byte {exc.start})") from None
    except ValueError as exc:  # json.JSONDecodeError
        raise EventError(None, f"not valid JSON ({exc})") from None


def _depth(raw: bytes) -> int:
    """How deep `raw` nests (brackets inside strings do not count); stops counting once
    past MAX_DEPTH."""
    brackets = _NOT_BRACKETS.sub(b"", _STRINGS.sub(b"", raw))
    depth = 0
    for byte in brackets:
        if byte in b"[{":
            depth += 1
            if depth > MAX_DEPTH:
                return depth
        else:
            depth -= 1
    return 0


def _integer(text: str) -> int:
    digits = len(text.lstrip("-"))
    if digits > MAX_DIGITS:
        raise EventError(None, f"a number of {digits} digits (at most {MAX_DIGITS})")
    return int(text)


def _constant(text: str) -> Any:
    raise EventError(None, f"not valid JSON ({text} is not a JSON number)")


def _get(obj: Mapping[str, Any], name: str, kind: type | tuple[type, ...], required: bool) -> Any:
    if name not in obj or obj[name] is None:
        if required:
            raise EventError(name, "is required")
        return None
    value = obj[name]
    # bool is an int in Python, never a number or a port in JSON.
    if isinstance(value, bool) or not isinstance(value, kind):
        expected = (
            kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        )
        raise EventError(name, f"must be {_json_type(expected)}, got {_json_name(value)}")
    return value


def _json_type(python: str) -> str:
    return {
        "str": "a string",
        "int": "an integer",
        "float": "a number",
        "int or float": "a number",
        "list": "a list",
        "dict": "an object",
    }.get(python, python)


def _json_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    return _json_type(type(value).__name__)


def _string_list(obj: Mapping[str, Any], name: str) -> list[str]:
    items = _get(obj, name, list, False) or []
    for i, item in enumerate(items):
        if not isinstance(item, str):
            raise EventError(name, f"item {i} must be a string")
    return list(items)


def _string_map(obj: Mapping[str, Any], name: str) -> dict[str, str]:
    raw = _get(obj, name, dict, False) or {}
    for key, value in raw.items():
        if not isinstance(value, str):
            raise EventError(name, f"value of {key!r} must be a string, got {_json_name(value)}")
    return dict(raw)


def parse_event(obj: Any) -> Event:
    """Validate one decoded JSON value against events.md and build its frozen Event.

    Raises EventError naming the field and the problem; `event_id` is set when known.
    """
    if not isinstance(obj, dict):
        raise EventError(None, f"an event must be a JSON object, got {_json_name(obj)}")
    event_id = obj.get("id") if isinstance(obj.get("id"), str) else None
    try:
        return _parse(obj)
    except EventError as exc:
        exc.event_id = event_id
        raise


_E = TypeVar("_E", bound=Event)


def _make(cls: type[_E], common: dict[str, Any], **fields: Any) -> _E:
    """Build a frozen event from fields already checked, without its generated
    `__init__`: that one sets each field through `object.__setattr__`, which was a
    fifth of the cost of parsing an event. Every field is given (tests compare)."""
    event = object.__new__(cls)
    vars(event).update(common, **fields)
    return event


def _str(obj: dict[str, Any], name: str, required: bool) -> Any:
    value = obj.get(name)
    # The common case costs one lookup; anything else takes the full check and its error.
    return value if type(value) is str else _get(obj, name, str, required)


def _parse(obj: dict[str, Any]) -> Event:
    ts = obj.get("ts")
    if ts is not None:
        ts = float(_get(obj, "ts", (int, float), False))
    common: dict[str, Any] = {
        "id": _str(obj, "id", True),
        "session": _str(obj, "session", True),
        "kind": _str(obj, "kind", True),
        "ts": ts,
        "agent": _str(obj, "agent", False),
    }
    kind = common["kind"]
    if kind == "session.start":
        canaries = _get(obj, "canaries", list, False) or []
        for i, canary in enumerate(canaries):
            if not isinstance(canary, str):
                raise EventError("canaries", f"item {i} must be a string")
        bound = _string_map(obj, "bound")
        placeholders = _string_list(obj, "placeholders")
        logins = _string_list(obj, "logins")
        own = _string_list(obj, "own_domains")
        return _make(
            SessionStart,
            common,
            workspace=_get(obj, "workspace", str, False),
            home=_get(obj, "home", str, False),
            canaries=tuple(c for c in canaries if c),
            bound=MappingProxyType({k.lower(): v for k, v in bound.items()}),
            placeholders=tuple(p for p in placeholders if p),
            logins=tuple(p for p in logins if p),
            own_domains=tuple(d.lower() for d in own if d),
        )
    if kind in ("file.read", "file.write"):
        return _make(FileAccess, common, path=_nonempty(obj, "path"))
    if kind == "net.connect":
        port = _get(obj, "port", int, True)
        if not 0 <= port <= 65535:
            raise EventError("port", f"must be between 0 and 65535, got {port}")
        return _make(NetConnect, common, host=_nonempty(obj, "host"), port=port)
    if kind == "net.request":
        return _parse_request(obj, common)
    if kind == "exec":
        return _make(
            Exec, common, command=_get(obj, "command", str, True), cwd=_get(obj, "cwd", str, False)
        )
    if kind == "tool.call":
        tool_input = _get(obj, "input", dict, False) or {}
        return _make(
            ToolCall, common, tool=_nonempty(obj, "tool"), input=MappingProxyType(tool_input)
        )
    if kind == "memory.write":
        content = _get(obj, "content", str, False)
        diff = _get(obj, "diff", str, False)
        if content is None and diff is None:
            raise EventError("content", "memory.write needs `content` or `diff`")
        return _make(MemoryWrite, common, path=_nonempty(obj, "path"), content=content, diff=diff)
    raise EventError("kind", f"unknown kind {kind!r} (expected one of: {', '.join(KINDS)})")


def _nonempty(obj: dict[str, Any], name: str) -> str:
    value: str = _str(obj, name, True)
    if not value:
        raise EventError(name, "must not be empty")
    return value


def _parse_request(obj: dict[str, Any], common: dict[str, Any]) -> NetRequest:
    headers = _string_map(obj, "headers")
    body = _get(obj, "body", str, False)
    body_b64 = _get(obj, "body_b64", str, False)
    if body is not None and body_b64 is not None:
        raise EventError("body_b64", "give `body` or `body_b64`, not both")
    if body_b64 is not None:
        try:
            raw = base64.b64decode(body_b64, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise EventError("body_b64", f"is not valid base64 ({exc})") from None
    else:
        raw = body.encode("utf-8", "surrogatepass") if body else b""
    return _make(
        NetRequest,
        common,
        method=_nonempty(obj, "method").upper(),
        url=_nonempty(obj, "url"),
        headers=tuple((k.lower(), v) for k, v in headers.items()),
        body=raw,
    )
