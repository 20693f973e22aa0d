"""Reads from the destinations of `network.fetch` (package registries), decided without
asking a person.

A request is such a read when it only asks for something: GET or HEAD, no body (none
seen and none announced by `Content-Length` or `Transfer-Encoding`), to a host a fetch
rule names, and triage ranks it low (no secret, no canary, nothing read from a
credential before it). Anything else about the same host (an upload, `npm publish`, a
read that carries a token) goes to the queue as before.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sandbox.proxy.rules import DomainRule, normalise_host, parse_rule

READ_METHODS = frozenset({"GET", "HEAD"})
_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class FetchRules:
    """A session's `network.fetch` rules, compiled."""

    rules: tuple[DomainRule, ...] = ()

    @classmethod
    def compile(cls, texts: Iterable[str]) -> FetchRules:
        """The rules as the policy loader checked them (domain names only)."""
        rules = [parse_rule(t) for t in texts]
        return cls(tuple(r for r in rules if isinstance(r, DomainRule)))

    def rule_for(self, event: Mapping[str, Any], verdict: Mapping[str, Any]) -> str | None:
        """The rule that lets this request through unasked, or None if it must wait."""
        if not self.rules or event.get("kind") != "net.request":
            return None
        if verdict.get("band") != "low" or not _only_reads(event):
            return None
        try:
            url = urlsplit(str(event.get("url", "")))
            port = url.port or _DEFAULT_PORTS.get(url.scheme)
        except ValueError:
            return None
        if url.hostname is None or port is None:
            return None
        host = normalise_host(url.hostname)
        return next((r.text for r in self.rules if r.matches(host, port)), None)


def _only_reads(event: Mapping[str, Any]) -> bool:
    if str(event.get("method", "")).upper() not in READ_METHODS:
        return False
    if event.get("body") or event.get("body_b64") or event.get("body_truncated"):
        return False
    headers = event.get("headers") or {}
    names = {str(k).lower(): str(v).strip() for k, v in dict(headers).items()}
    if "transfer-encoding" in names:
        return False
    return names.get("content-length", "0") in ("", "0")
