"""A batch's signature in words: '12 requests to pypi.org and files.pythonhosted.org',
'POST to evil.example.net carrying a canary'. Qt-free; the result is agent text made
visible (host names come from the agent)."""

from __future__ import annotations

from functools import lru_cache
from urllib.parse import urlsplit

from app.ui.rows import Batch, Member
from app.ui.text import visible

# What a reason says about the payload, in the order worth naming first.
_CARRYING = (
    ("canary", "carrying a canary"),
    ("foreign-credential", "carrying someone else's credential"),
    ("after-credential-read", "after reading a credential"),
    ("secret", "carrying a secret"),
    ("encoded-blob", "carrying an encoded blob"),
)


def method_and_host(m: Member) -> tuple[str, str]:
    """(method or '', host) of one member's summary (`POST https://h/p` or `h:443`)."""
    return _parse(m.kind, m.summary)


@lru_cache(maxsize=1 << 16)
def _parse(kind: str, summary: str) -> tuple[str, str]:
    # Cached: the inbox describes every batch on each update, and a batch of
    # thousands of members would otherwise be parsed again each time.
    if kind == "net.request" or " " in summary:
        method, _, url = summary.partition(" ")
        try:
            host = urlsplit(url).hostname or url
        except ValueError:
            host = url
        return method.upper(), host
    host = summary.rsplit(":", 1)[0] if ":" in summary else summary
    return "", host


def _hosts(names: list[str]) -> str:
    names = list(dict.fromkeys(names))
    if len(names) <= 2:
        return " and ".join(names)
    return f"{names[0]}, {names[1]} and {len(names) - 2} more"


def describe(batch: Batch) -> str:
    """The batch in one sentence a person reads before deciding."""
    if not batch.members:
        return visible(batch.signature)
    pairs = [method_and_host(m) for m in batch.members]
    methods = {m for m, _ in pairs}
    hosts = _hosts([h for _, h in pairs])
    n = len(batch.members)
    method = next(iter(methods)) if len(methods) == 1 else ""
    if n == 1:
        head = f"{method} to {hosts}" if method and method != "GET" else f"1 request to {hosts}"
    elif method and method != "GET":
        head = f"{n} {method} requests to {hosts}"
    else:
        head = f"{n} requests to {hosts}"
    if batch.members[0].kind == "net.connect":
        head = head.replace("request", "connection")
    rules = {r.rule for m in batch.members for r in m.reasons}
    for key, words in _CARRYING:
        if any(rule.endswith(key) for rule in rules):
            head += f" {words}"
            break
    return visible(head)


def destination(batch: Batch) -> str:
    """The host a person types to confirm a critical batch (the first member's)."""
    if not batch.members:
        return batch.signature
    return method_and_host(batch.members[0])[1]
