"""A batch's signature in words: '12 requests to pypi.org and files.pythonhosted.org',
'POST to evil.example.net carrying a canary'. Qt-free; the result is agent text made
visible (host names come from the agent)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from itertools import islice
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


def _hosts(names: dict[str, None]) -> str:
    """'a', 'a and b', or 'a, b and 3 more' of the distinct names, in order."""
    first = list(islice(names, 2))
    if len(names) <= 2:
        return " and ".join(first)
    return f"{first[0]}, {first[1]} and {len(names) - 2} more"


@dataclass
class _Tally:
    """What `describe` needs of a batch's members, gathered once per member."""

    count: int = 0
    last: Member | None = None  # the last member counted (the record itself)
    methods: set[str] = field(default_factory=set)
    hosts: dict[str, None] = field(default_factory=dict)  # in order, once each
    rules: set[str] = field(default_factory=set)
    said: str = ""  # the words made at `said_at` members
    said_at: int = 0

    def add(self, members: tuple[Member, ...]) -> None:
        for m in members:
            method, host = method_and_host(m)
            self.methods.add(method)
            self.hosts.setdefault(host)
            self.rules.update(r.rule for r in m.reasons)
        self.count += len(members)
        if members:
            self.last = members[-1]


_tallies: dict[str, _Tally] = {}  # by batch id
_TALLIES_KEPT = 4096


def forget() -> None:
    """Drop every tally (the next description of each batch starts from its first
    member): what a first start does, for measuring it."""
    _tallies.clear()


def _tally(batch: Batch) -> _Tally:
    """The batch's tally, carried on from the last one seen of the same batch: members
    only ever join at the end, so a burst of joins costs the new members, not the whole
    batch each time. It is carried on only when the member it ended at is the very
    record at that place (anything else, such as that member expiring, counts again)."""
    members = batch.members
    t = _tallies.get(batch.batch)
    if t is None or t.count > len(members) or (t.count and members[t.count - 1] is not t.last):
        if len(_tallies) >= _TALLIES_KEPT:
            _tallies.clear()
        t = _tallies[batch.batch] = _Tally()
    t.add(members[t.count :])
    return t


def describe(batch: Batch) -> str:
    """The batch in one sentence a person reads before deciding."""
    if not batch.members:
        return visible(batch.signature)
    t = _tally(batch)
    if t.said_at == t.count:
        return t.said  # nothing joined since these words were made
    hosts = _hosts(t.hosts)
    n = len(batch.members)
    method = next(iter(t.methods)) if len(t.methods) == 1 else ""
    if n == 1:
        head = f"{method} to {hosts}" if method and method != "GET" else f"1 request to {hosts}"
    elif method and method != "GET":
        head = f"{n} {method} requests to {hosts}"
    else:
        head = f"{n} requests to {hosts}"
    if batch.members[0].kind == "net.connect":
        head = head.replace("request", "connection")
    for key, words in _CARRYING:
        if any(rule.endswith(key) for rule in t.rules):
            head += f" {words}"
            break
    t.said, t.said_at = visible(head), t.count
    return t.said


def destination(batch: Batch) -> str:
    """The host a person types to confirm a critical batch (the first member's)."""
    if not batch.members:
        return batch.signature
    return method_and_host(batch.members[0])[1]
