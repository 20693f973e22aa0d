""" "Make a rule from this": the narrowest policy entry that would have decided a
history row, as the YAML it adds, saved through the same document as the editor.

A request or a tunnel gives its exact host (with its port when not the usual one), or
`*.` of its parent domain when the person wants the whole domain; it goes to
`network.allow` for an allowed or undecided row and to `network.deny` for a denied one.
An address gives an address rule, with its port. A file read or written outside the
workspace gives a trusted path (read-only for a read, read-write for a write) or a
denied path. Anything else (a command, a memory change) is not the policy file's to
decide, and gets no proposal.
"""

from __future__ import annotations

import io
import ipaddress
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ruamel.yaml import YAML

from app.service.history_rows import HistoryEntry
from app.trust.document import PolicyDocument

_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}
_FILE_TOOLS = {"Read": "ro", "Write": "rw", "Edit": "rw", "MultiEdit": "rw", "NotebookEdit": "rw"}


@dataclass(frozen=True)
class Proposal:
    """One entry to add: `section` is `trusted`, `deny`, `network.allow` or
    `network.deny`; `value` the rule or path; `mode` for a trusted path."""

    title: str
    section: str
    value: str
    mode: str = ""

    def apply(self, document: PolicyDocument) -> None:
        """Add the entry to `document` (not saved)."""
        if self.section == "trusted":
            document.trust(self.value, self.mode or "ro")
        elif self.section == "deny":
            document.deny(self.value)
        else:
            document.add_rule(self.section.split(".", 1)[1], self.value)

    def yaml(self) -> str:
        """The YAML this entry adds, as a file of its own would say it."""
        value: Any = self.value
        if self.section == "trusted" and self.mode == "rw":
            value = {"path": self.value, "mode": "rw"}
        data: dict[str, Any] = {self.section: [value]}
        if self.section.startswith("network."):
            data = {"network": {self.section.split(".", 1)[1]: [value]}}
        out = io.StringIO()
        yaml = YAML()
        yaml.indent(mapping=2, sequence=4, offset=2)
        yaml.dump(data, out)
        return out.getvalue()


def propose(entry: HistoryEntry, raw: str | None, home: Path) -> list[Proposal]:
    """The entries that would have decided `entry`, narrowest first (empty: none would).
    `raw` is the event as recorded (JSON), for a URL's port; `home` shortens paths."""
    event = _parse(raw)
    deny = entry.decision == "deny"
    host, port = _destination(entry, event)
    if host:
        return _network(host, port, deny)
    path, mode = _file(entry, event)
    if path is None or not path.startswith(("/", "~")):
        return []
    path = os.path.normpath(path)
    if entry.workspace and _within(path, entry.workspace):
        return []  # the workspace is shown read-write already
    pattern = _short(path, home)
    if pattern in ("~", "/"):
        return []
    if deny:
        return [Proposal(f"Never show {pattern}", "deny", pattern)]
    kind = "read-write" if mode == "rw" else "read-only"
    return [Proposal(f"Trust {pattern} {kind}", "trusted", pattern, mode)]


def _network(host: str, port: int | None, deny: bool) -> list[Proposal]:
    section = "network.deny" if deny else "network.allow"
    verb = "Deny" if deny else "Allow"
    host = host.lower().rstrip(".")
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        address = None
    if address is not None:
        text = f"[{address}]" if address.version == 6 else str(address)
        rule = f"{text}:{port}" if port else text
        return [Proposal(f"{verb} the address {rule}", section, rule)]
    exact = host if port in (None, 443, 80) else f"{host}:{port}"
    out = [Proposal(f"{verb} {exact}", section, exact)]
    parent = host.split(".", 1)[1] if "." in host else ""
    if parent.count(".") >= 1:  # never `*.com`: a parent with a dot of its own
        out.append(Proposal(f"{verb} every name under {parent}", section, f"*.{parent}"))
    return out


def _destination(entry: HistoryEntry, event: dict[str, Any]) -> tuple[str | None, int | None]:
    if entry.kind == "net.connect":
        port = event.get("port")
        return entry.host, port if isinstance(port, int) else None
    url = event.get("url")
    if url is None and isinstance(event.get("input"), dict):
        url = event["input"].get("url")
    if not entry.host or not isinstance(url, str):
        return entry.host if entry.kind == "net.request" else None, None
    try:
        parts = urlsplit(url)
        port = parts.port or _DEFAULT_PORTS.get(parts.scheme.lower())
    except ValueError:
        port = None
    return entry.host, port


def _file(entry: HistoryEntry, event: dict[str, Any]) -> tuple[str | None, str]:
    if entry.kind in ("file.read", "file.write") and entry.path:
        return entry.path, "rw" if entry.kind == "file.write" else "ro"
    tool = event.get("tool")
    if entry.kind == "tool.call" and entry.path and tool in _FILE_TOOLS:
        return entry.path, _FILE_TOOLS[str(tool)]
    return None, ""


def _parse(raw: str | None) -> dict[str, Any]:
    try:
        value = json.loads(raw) if raw else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _within(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


def _short(path: str, home: Path) -> str:
    if path.startswith("~"):
        return path
    h = str(home)
    return "~" + path[len(h) :] if _within(path, h) else path
