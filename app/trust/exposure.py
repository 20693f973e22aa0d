"""What trusting a path would expose: the credential catalogue's entries at or below
it, named for the confirmation the editor asks before trusting a credential location.
Also the small translations between a path picked in the tree and a policy entry."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from resources.credential_catalogue import CredentialLocation, read_credentials
from sandbox.patterns import expand_home, has_magic, literal_prefix, matches
from sandbox.proxy.rules import AddressRule, RuleError, parse_rule


def catalogue(resources: Path) -> tuple[CredentialLocation, ...]:
    """The shipped credential catalogue."""
    return read_credentials(resources / "catalogues" / "credentials.yaml")


def exposed_by(
    pattern: str, home: Path, entries: Sequence[CredentialLocation]
) -> list[tuple[str, str]]:
    """(title, catalogue path) of each credential location that trusting `pattern`
    reaches: one it names, or one inside the folder it names."""
    target = expand_home(pattern, home).rstrip("/")
    out: list[tuple[str, str]] = []
    for entry in entries:
        for path in entry.paths:
            if not path.startswith("~"):
                continue
            absolute = expand_home(path, home)
            fixed = literal_prefix(absolute) if has_magic(absolute) else absolute
            if matches(absolute, target) or fixed.startswith(target + "/") or fixed == target:
                out.append((entry.title, path))
    return out


def as_pattern(path: str, home: Path) -> str:
    """A picked path as the policy writes it: `~/…` inside the home."""
    absolute = os.path.abspath(path)
    h = str(home).rstrip("/")
    if absolute == h:
        return "~"
    return "~" + absolute[len(h) :] if absolute.startswith(h + "/") else absolute


def rule_kind(text: str) -> str | None:
    """`address` or `name` for a network rule, None if it is not one."""
    try:
        rule = parse_rule(text)
    except RuleError:
        return None
    return "address" if isinstance(rule, AddressRule) else "name"
