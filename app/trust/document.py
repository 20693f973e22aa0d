"""One policy file as the editor changes it: round-trip YAML that keeps the user's
comments, order and style (ruamel.yaml; PyYAML, which the loader reads with, would drop
every comment on the way out).

Only a handful of places are edited: `trusted`, `deny`, `network.allow`,
`network.deny`, `network.fetch` and `network.ask_timeout`, plus what "make a rule" adds. Everything
else in the file is carried through as it was. Nothing here checks the result: saving
(app/trust/saving.py) runs the real policy loader over the text first.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import CommentMark, YAMLError
from ruamel.yaml.tokens import CommentToken

USER_HEADER = (
    "# Your Sandgate policy, read after the shipped one: it may add to any section.\n"
    "# `sandgate policy check` shows the result; the trusted-paths window edits it.\n"
)
WORKSPACE_HEADER = (
    "# This workspace's Sandgate policy: it may only narrow (deny, protected, memory,\n"
    "# env.block, network.deny).\n"
)


class DocumentError(ValueError):
    """A file the editor cannot take apart: `file:line: problem`."""


@dataclass(frozen=True)
class Entry:
    """One entry of a list as the file has it: its value, its line (1-based; None for
    one not saved yet) and, for `trusted`, its mode."""

    value: str
    line: int | None
    mode: str = ""


def _yaml() -> YAML:
    yaml = YAML()  # round trip
    yaml.preserve_quotes = True
    yaml.width = 100
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


class PolicyDocument:
    """The text of one policy file, changed in place. `workspace` marks a workspace's
    `.sandgate.yaml`, which may only narrow (the loader enforces it when saving)."""

    def __init__(self, path: Path, text: str, *, workspace: bool = False) -> None:
        self.path = path
        self.workspace = workspace
        self.disk_text = text  # what the file held when read: a later change is someone else's
        try:
            data = _yaml().load(text) if text.strip() else None
        except YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = f":{mark.line + 1}" if mark is not None else ""
            raise DocumentError(f"{path}{line}: not valid YAML: {exc}") from None
        if data is None:
            data = CommentedMap()
            data.yaml_set_start_comment((WORKSPACE_HEADER if workspace else USER_HEADER).rstrip())
        if not isinstance(data, CommentedMap):
            raise DocumentError(f"{path}:1: the policy must be a mapping of sections")
        self.data: CommentedMap = data
        self.baseline = self.text()  # a round trip may re-indent: compare with this

    @classmethod
    def read(cls, path: Path, *, workspace: bool = False) -> PolicyDocument:
        """The file at `path`, or an empty one if there is none yet."""
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            text = ""
        return cls(path, text, workspace=workspace)

    def text(self) -> str:
        out = io.StringIO()
        _yaml().dump(self.data, out)
        return out.getvalue()

    @property
    def changed(self) -> bool:
        """Edited since read (or since the last save)."""
        return self.text() != self.baseline

    # --- reading --------------------------------------------------------------------

    def trusted(self) -> list[Entry]:
        out = []
        for index, item in enumerate(self._list(self.data, "trusted")):
            if isinstance(item, dict):
                mode = "rw" if item.get("mode") == "rw" else "ro"
                out.append(
                    Entry(str(item.get("path", "")), self._line(self.data, "trusted", index), mode)
                )
            else:
                out.append(Entry(str(item), self._line(self.data, "trusted", index), "ro"))
        return out

    def denied(self) -> list[Entry]:
        return self._entries(self.data, "deny")

    def rules(self, which: str) -> list[Entry]:
        """`network.allow` or `network.deny` (which is `allow` or `deny`)."""
        network = self.data.get("network")
        return self._entries(network, which) if isinstance(network, dict) else []

    def fetch(self) -> list[Entry] | None:
        """`network.fetch` as this file sets it, or None where it leaves the list to the
        files before it (the last file that sets it decides the whole list)."""
        network = self.data.get("network")
        if not isinstance(network, dict) or "fetch" not in network:
            return None
        return self._entries(network, "fetch")

    def set_fetch(self, rules: Sequence[str]) -> None:
        """Set the whole `network.fetch` list (domains whose reads pass unasked)."""
        network = self._created_network()
        items = network.get("fetch")
        if not isinstance(items, CommentedSeq):
            items = network["fetch"] = CommentedSeq()
        kept = [str(i) for i in items]
        for rule in [r for r in kept if r not in rules]:
            del items[[str(i) for i in items].index(rule)]
        for rule in rules:
            if rule not in [str(i) for i in items]:
                _append(items, rule)

    def ask_timeout(self) -> float | None:
        network = self.data.get("network")
        value = network.get("ask_timeout") if isinstance(network, dict) else None
        return (
            float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
        )

    # --- changing -------------------------------------------------------------------

    def trust(self, pattern: str, mode: str) -> None:
        """Trust `pattern` read-only (`ro`) or read-write (`rw`): an entry for it is
        changed where it stands, else one is added; a deny of it is taken away (the
        choice is one or the other)."""
        if mode not in ("ro", "rw"):
            raise ValueError(f"mode must be ro or rw, not {mode!r}")
        self.remove("deny", pattern)
        items = self._list(self.data, "trusted", create=True)
        value: Any = pattern
        if mode == "rw":
            value = CommentedMap([("path", pattern), ("mode", "rw")])
            value.fa.set_flow_style()
        for index, item in enumerate(items):
            if _trusted_pattern(item) == pattern:
                if isinstance(item, dict) and mode == "rw":
                    item["mode"] = "rw"
                elif isinstance(item, dict):
                    item.pop("mode", None)
                    item.pop("create", None)
                    if list(item) == ["path"]:
                        items[index] = pattern
                else:
                    items[index] = value
                return
        _append(items, value)

    def deny(self, pattern: str) -> None:
        """Never show `pattern`, and stop trusting it here."""
        self.remove("trusted", pattern)
        self._add(self.data, "deny", pattern)

    def remove(self, section: str, pattern: str) -> bool:
        """Take `pattern` out of `trusted` or `deny`; False if it was not there."""
        items = self._list(self.data, section)
        for index, item in enumerate(items):
            if (_trusted_pattern(item) if section == "trusted" else str(item)) == pattern:
                del items[index]
                if not items:
                    del self.data[section]
                return True
        return False

    def add_rule(self, which: str, rule: str) -> None:
        """Add `rule` (a name, `*.name`, `name:port` or an address) to `network.allow`
        or `network.deny`, taking it out of the other list."""
        other = "deny" if which == "allow" else "allow"
        self.remove_rule(other, rule)
        self._add(self._created_network(), which, rule)

    def remove_rule(self, which: str, rule: str) -> bool:
        network = self._network()
        if network is None or rule not in [str(i) for i in self._list(network, which)]:
            return False
        items = self._list(network, which)
        del items[[str(i) for i in items].index(rule)]
        if not items:
            del network[which]
        self._drop_empty_network()
        return True

    def set_ask_timeout(self, seconds: float | None) -> None:
        """Seconds before an unanswered request is denied; None goes back to the default."""
        if seconds is None:
            network = self._network()
            if network is not None:
                network.pop("ask_timeout", None)
                self._drop_empty_network()
            return
        value: int | float = int(seconds) if float(seconds).is_integer() else float(seconds)
        self._created_network()["ask_timeout"] = value

    # --- helpers --------------------------------------------------------------------

    def _network(self) -> CommentedMap | None:
        network = self.data.get("network")
        return network if isinstance(network, CommentedMap) else None

    def _created_network(self) -> CommentedMap:
        network = self._network()
        if network is None:
            if self.data.get("network") is not None:
                raise DocumentError(f"{self.path}: network must be a mapping")
            network = self.data["network"] = CommentedMap()
        return network

    def _drop_empty_network(self) -> None:
        if self.data.get("network") == {}:
            del self.data["network"]

    def _add(self, parent: CommentedMap, key: str, value: str) -> None:
        items = self._list(parent, key, create=True)
        if value not in [str(i) for i in items]:
            _append(items, value)

    def _list(self, parent: Any, key: str, create: bool = False) -> CommentedSeq:
        items = parent.get(key) if isinstance(parent, dict) else None
        if items is None and create:
            items = parent[key] = CommentedSeq()
        if items is None:
            return CommentedSeq()
        if not isinstance(items, list):
            raise DocumentError(f"{self.path}: {key} must be a list")
        return items  # type: ignore[return-value]

    def _entries(self, parent: Any, key: str) -> list[Entry]:
        return [
            Entry(str(item), self._line(parent, key, index))
            for index, item in enumerate(self._list(parent, key))
        ]

    @staticmethod
    def _line(parent: Any, key: str, index: int) -> int | None:
        items = parent.get(key)
        try:
            line, _col = items.lc.item(index)
        except (AttributeError, KeyError, TypeError):
            return None
        return int(line) + 1


def _append(items: CommentedSeq, value: Any) -> None:
    """Append after the last entry, not after the blank lines that end the list: those
    belong between the list and what follows, so they move to the new last entry (a
    comment on the old last entry's line stays with it)."""
    last = len(items) - 1
    items.append(value)
    comment = items.ca.items.get(last) if last >= 0 else None
    token = comment[0] if comment else None
    if token is None:
        return
    first, newline, rest = token.value.partition("\n")
    if not rest:
        return
    if first.strip():
        token.value = first + newline
    else:
        del items.ca.items[last]
    items.ca.items[last + 1] = [CommentToken("\n" + rest, CommentMark(0), None), None, None, None]


def _trusted_pattern(item: Any) -> str:
    return str(item.get("path", "")) if isinstance(item, dict) else str(item)


def reread(document: PolicyDocument) -> PolicyDocument:
    """The document's current text read back: every entry then has its line."""
    fresh = PolicyDocument(document.path, document.text(), workspace=document.workspace)
    fresh.disk_text, fresh.baseline = document.disk_text, document.baseline
    return fresh
