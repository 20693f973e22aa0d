"""A reader for the profiles Sandgate writes, and a model of how Seatbelt decides.

Off macOS the kernel cannot be asked, so the tests read the generated profile back as
data and decide an access the way SBPL does: the last rule whose operation and filter
match wins, `default` matches everything, `file-read*` every read. Filters: `literal`,
`subpath`, `regex` (POSIX extended; Python's `re` agrees on the constructs Sandgate
writes), and network addresses compared as text. Enough to check what a profile says,
not a replacement for the macOS tests marked `macos`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

Expr = Any  # str (symbol), Str (string literal) or list


@dataclass(frozen=True)
class Str:
    value: str


def read(text: str) -> list[Expr]:
    """Every top-level expression of a profile."""
    tokens = _tokens(text)
    out: list[Expr] = []
    while tokens:
        out.append(_expr(tokens))
    return out


def _tokens(text: str) -> list[Any]:
    out: list[Any] = []
    i = 0
    while i < len(text):
        c = text[i]
        if c.isspace():
            i += 1
        elif c == ";":
            while i < len(text) and text[i] != "\n":
                i += 1
        elif c in "()":
            out.append(c)
            i += 1
        elif c == '"':
            i += 1
            value: list[str] = []
            while text[i] != '"':
                if text[i] == "\\":
                    i += 1
                value.append(text[i])
                i += 1
            out.append(Str("".join(value)))
            i += 1
        else:
            start = i
            while i < len(text) and not text[i].isspace() and text[i] not in '()";':
                i += 1
            out.append(text[start:i])
    return out


def _expr(tokens: list[Any]) -> Expr:
    token = tokens.pop(0)
    if token == "(":
        items: list[Expr] = []
        while tokens[0] != ")":
            items.append(_expr(tokens))
        tokens.pop(0)
        return items
    assert token != ")", "unbalanced profile"
    return token


@dataclass(frozen=True)
class Rule:
    action: str  # allow / deny
    operations: tuple[str, ...]
    filters: tuple[Expr, ...]  # empty: matches everything


def rules(text: str) -> list[Rule]:
    out: list[Rule] = []
    for expr in read(text):
        if not isinstance(expr, list) or expr[0] not in ("allow", "deny"):
            continue
        operations = tuple(x for x in expr[1:] if isinstance(x, str))
        filters = tuple(x for x in expr[1:] if isinstance(x, list) and x and x[0] not in ("with",))
        out.append(Rule(expr[0], operations, filters))
    return out


def _op_matches(pattern: str, operation: str) -> bool:
    if pattern == "default":
        return True
    if pattern.endswith("*"):
        return operation.startswith(pattern[:-1])
    return pattern == operation


def _filter_matches(f: Expr, target: str) -> bool:
    kind = f[0]
    if kind in ("literal", "path-literal"):
        return bool(target == f[1].value)
    if kind == "subpath":
        root = f[1].value
        return target == root or target.startswith(root.rstrip("/") + "/")
    if kind == "regex":
        return re.search(f[1].value, target) is not None
    if kind in ("remote", "local"):  # (remote ip "localhost:3128")
        return bool(f"{kind} {f[1]} {f[2].value}" == target)
    if kind == "global-name":
        return bool(f[1].value == target)
    if kind == "target":
        return bool(f[1] == target)
    return False


def decide(text: str, operation: str, target: str = "") -> str:
    """`allow` or `deny` for `operation` on `target` (a path, `remote ip HOST:PORT`,
    `local ip HOST:PORT`, a mach service name or `same-sandbox`/`other`)."""
    verdict = "deny"
    for rule in rules(text):
        if not any(_op_matches(op, operation) for op in rule.operations):
            continue
        if rule.filters and not any(_filter_matches(f, target) for f in rule.filters):
            continue
        verdict = rule.action
    return verdict


def matching_filters(text: str, operation: str, target: str) -> list[Expr]:
    """The filters of every rule that matches (for a failing test's message)."""
    out: list[Expr] = []
    for rule in rules(text):
        if any(_op_matches(op, operation) for op in rule.operations):
            out += [f for f in rule.filters if _filter_matches(f, target)]
    return out
