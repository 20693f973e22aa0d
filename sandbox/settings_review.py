"""Which changes to an agent's settings file pass, and which wait for a person.

Pure: texts in, texts and changes out. A settings document is flattened into leaf
key paths (a list is one leaf); the changes of a session are the leaves that differ
between the file before and after it. A change is dangerous when a pattern of the
agent's catalogue (resources/catalogues/agent_settings.yaml) names its key or one of
its parents: `hooks` covers `hooks.PreToolUse`, `projects.*.mcpServers` covers every
project's MCP servers, `**.command` any `command` key at any depth.

Harmless changes are applied onto the file as it is on the host now (so a change made
outside meanwhile, or a held change accepted meanwhile, is kept); dangerous ones are
returned to be held. JSON is merged key by key. TOML and YAML cannot be written back
without losing the user's comments and layout, so a file in either with a dangerous
change is held whole, and its harmless changes wait with it.
"""

from __future__ import annotations

import copy
import difflib
import fnmatch
import json
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import yaml

Key = tuple[str, ...]
ABSENT: Any = object()  # a leaf that does not exist on one side


@dataclass(frozen=True)
class Change:
    """One leaf that changed: its key path and its new value (ABSENT: removed)."""

    key: Key
    value: Any

    def to_dict(self) -> dict[str, Any]:
        return {"key": list(self.key), "present": self.value is not ABSENT, "value": _plain(self)}


def _plain(change: Change) -> Any:
    return None if change.value is ABSENT else change.value


def change_from_dict(raw: Mapping[str, Any]) -> Change:
    return Change(tuple(raw["key"]), raw["value"] if raw.get("present") else ABSENT)


@dataclass(frozen=True)
class Outcome:
    """What becomes of one settings file after a session.

    `text`: what the host file should hold now (None: leave it as it is). `held`: the
    dangerous changes, key by key (JSON), or `held_text`: the whole new text (TOML,
    YAML, or a file that did not parse). `diff` shows a person what is held.
    """

    text: str | None
    held: tuple[Change, ...] = ()
    held_text: str | None = None
    diff: str = ""

    @property
    def holds(self) -> bool:
        return bool(self.held) or self.held_text is not None


def parse(text: str, fmt: str) -> Any:
    """The document in `text` (raises ValueError if it does not parse)."""
    try:
        if fmt == "json":
            return json.loads(text) if text.strip() else {}
        if fmt == "toml":
            return tomllib.loads(text)
        if fmt == "yaml":
            return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)) or {}
    except (ValueError, yaml.YAMLError) as exc:
        raise ValueError(str(exc)) from exc
    raise ValueError(f"unknown settings format {fmt!r}")


def flatten(document: Any, prefix: Key = ()) -> dict[Key, Any]:
    """Leaf key path -> value. An empty mapping is a leaf of its own, so that adding
    `"hooks": {}` is still seen."""
    if isinstance(document, Mapping) and document:
        out: dict[Key, Any] = {}
        for key, value in document.items():
            out.update(flatten(value, (*prefix, str(key))))
        return out
    return {prefix: document}


def changes(before: Any, after: Any) -> list[Change]:
    """Every leaf added, changed or removed from `before` to `after`."""
    old, new = flatten(before), flatten(after)
    out = [Change(k, v) for k, v in new.items() if k not in old or old[k] != v]
    out += [Change(k, ABSENT) for k in old if k not in new and not _covered(k, new)]
    return sorted(out, key=lambda c: c.key)


def _covered(key: Key, leaves: Mapping[Key, Any]) -> bool:
    # A leaf replaced by a value at its parent (a mapping turned into a string) is
    # reported once, as the parent's change.
    return any(key[: len(k)] == k for k in leaves if len(k) < len(key))


def is_dangerous(key: Key, patterns: Sequence[str]) -> bool:
    """Whether a pattern names `key` or one of its parents."""
    return any(_matches_prefix(p.split("."), list(key)) for p in patterns)


def _matches_prefix(pattern: list[str], key: list[str]) -> bool:
    if not pattern:
        return True  # the pattern named a parent of the key
    if not key:
        return False
    head, rest = pattern[0], pattern[1:]
    if head == "**":
        return any(_matches_prefix(rest, key[i:]) for i in range(len(key) + 1))
    return fnmatch.fnmatchcase(key[0], head) and _matches_prefix(rest, key[1:])


def apply(document: Any, found: Sequence[Change]) -> Any:
    """A copy of `document` with each change made (a removed leaf deleted)."""
    out = copy.deepcopy(document) if isinstance(document, dict) else {}
    for change in found:
        if not change.key:
            out = copy.deepcopy(change.value) if isinstance(change.value, dict) else {}
            continue
        parent = out
        for part in change.key[:-1]:
            if not isinstance(parent.get(part), dict):
                if change.value is ABSENT:
                    break
                parent[part] = {}
            parent = parent[part]
        else:
            if change.value is ABSENT:
                parent.pop(change.key[-1], None)
            else:
                parent[change.key[-1]] = copy.deepcopy(change.value)
    return out


def dump_json(document: Any) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def review(
    before: str | None,
    after: str | None,
    current: str | None,
    fmt: str,
    dangerous: Sequence[str],
    name: str,
) -> Outcome:
    """Decide one file: `before` and `after` the session, `current` on the host now.

    A file removed in the session is left alone on the host (an agent has no reason
    to delete its settings, and a deletion of hooks is a change nobody needs to hold).
    """
    if after is None or after == before:
        return Outcome(None)
    diff = text_diff(before, after, name)
    try:
        old = parse(before or "", fmt)
        new = parse(after, fmt)
        now = parse(current or "", fmt)
    except ValueError:
        # Not readable as settings: nothing in it can be told apart, so all of it waits.
        return Outcome(None, held_text=after, diff=_headed(diff, ["(the file does not parse)"]))
    found = changes(old, new)
    risky = [c for c in found if is_dangerous(c.key, dangerous)]
    harmless = [c for c in found if not is_dangerous(c.key, dangerous)]
    if not risky:
        if fmt != "json" or current == before:
            return Outcome(after)  # the agent's own text, layout and all
        return Outcome(dump_json(apply(now, harmless)) if harmless else None)
    labels = sorted({".".join(c.key) for c in risky})
    if fmt != "json":
        return Outcome(None, held_text=after, diff=_headed(diff, labels))
    text = dump_json(apply(now, harmless)) if harmless else None
    return Outcome(text, held=tuple(risky), diff=_headed(diff, labels))


def _headed(diff: str, labels: Sequence[str]) -> str:
    head = "# held for review (can run programs or widen access): " + ", ".join(labels)
    return head + "\n" + diff


def text_diff(before: str | None, after: str | None, name: str) -> str:
    lines = difflib.unified_diff(
        (before or "").splitlines(keepends=True),
        (after or "").splitlines(keepends=True),
        fromfile=name if before is not None else "/dev/null",
        tofile=name,
    )
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)
