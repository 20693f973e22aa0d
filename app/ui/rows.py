"""Plain frozen data the GUI is given, parsed from the service's `watch` stream.

The bridge parses every line into these records on its reader thread; widgets and
models only ever hold them. `fold(state, change)` applies one change of the stream to
a `State` and returns the new one, so the state the GUI shows is always the service's
own, replayed. Qt-free.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any

BANDS = ("low", "medium", "high", "critical")


def band_rank(band: str) -> int:
    return BANDS.index(band) if band in BANDS else 0


@dataclass(frozen=True)
class Reason:
    rule: str
    points: int
    why: str


@dataclass(frozen=True)
class Member:
    """One request of a batch, as the queue lists it."""

    event: str
    session: str
    kind: str
    summary: str
    score: int
    band: str
    reasons: tuple[Reason, ...]
    waiting: bool


@dataclass(frozen=True)
class Batch:
    batch: str
    signature: str
    state: str  # pending | expired
    band: str
    score: int
    created: float
    members: tuple[Member, ...]
    # How many members wait: counted here when not given; the stream's fold gives it,
    # worked out from the batch before, so a join does not count the other members.
    waiting: int = -1

    def __post_init__(self) -> None:
        if self.waiting < 0:
            object.__setattr__(self, "waiting", sum(1 for m in self.members if m.waiting))

    @cached_property
    def sessions(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(m.session for m in self.members))


@dataclass(frozen=True)
class Session:
    session: str
    agent: str
    workspace: str
    command: tuple[str, ...]
    profile: str
    started: float


@dataclass(frozen=True)
class ReviewItem:
    """Something that is not a held request but needs a look (memory-file change,
    quarantined files, a decoy read or a canary seen)."""

    id: str
    kind: str  # memory | quarantine | alert
    workspace: str
    session: str
    path: str
    summary: str
    detail: str
    band: str
    score: int
    reasons: tuple[Reason, ...]
    ts: float
    actions: tuple[str, ...]


@dataclass(frozen=True)
class Paused:
    until: float | None  # None: until resumed


@dataclass(frozen=True)
class State:
    """What the service last said, and whether that is still current."""

    batches: tuple[Batch, ...] = ()
    sessions: tuple[Session, ...] = ()
    review: tuple[ReviewItem, ...] = ()
    paused: Paused | None = None
    recording_failed: str | None = None  # why nothing can be recorded (no network meanwhile)
    seq: int = 0
    instance: str = ""  # the service run that said it (batch ids restart with a run)
    connected: bool = False
    stale: bool = False  # shown from before the service went away

    def session(self, session_id: str) -> Session | None:
        for s in self.sessions:
            if s.session == session_id:
                return s
        return None

    @property
    def waiting(self) -> int:
        return sum(b.waiting for b in self.batches if b.state == "pending")

    @property
    def critical_waiting(self) -> bool:
        return any(b.band == "critical" and b.waiting for b in self.batches)


@dataclass(frozen=True)
class Change:
    """One line of the stream, kept for notifications (the state already includes it)."""

    name: str
    seq: int
    batch: Batch | None = None
    member: Member | None = None
    item: ReviewItem | None = None


# --- parsing ---------------------------------------------------------------------------


def _reasons(raw: Any) -> tuple[Reason, ...]:
    out = []
    for r in raw or ():
        if isinstance(r, Mapping):
            out.append(
                Reason(str(r.get("rule", "")), int(r.get("points", 0)), str(r.get("why", "")))
            )
    return tuple(out)


def member(raw: Mapping[str, Any]) -> Member:
    return Member(
        event=str(raw.get("event", "")),
        session=str(raw.get("session", "")),
        kind=str(raw.get("kind", "")),
        summary=str(raw.get("summary", "")),
        score=int(raw.get("score", 0)),
        band=str(raw.get("band", "low")),
        reasons=_reasons(raw.get("reasons")),
        waiting=bool(raw.get("waiting", False)),
    )


def batch(raw: Mapping[str, Any]) -> Batch:
    return Batch(
        batch=str(raw.get("batch", "")),
        signature=str(raw.get("signature", "")),
        state=str(raw.get("state", "pending")),
        band=str(raw.get("band", "low")),
        score=int(raw.get("score", 0)),
        created=float(raw.get("created", 0.0)),
        members=tuple(member(m) for m in raw.get("members") or ()),
    )


def session(raw: Mapping[str, Any]) -> Session:
    return Session(
        session=str(raw.get("session", "")),
        agent=str(raw.get("agent") or ""),
        workspace=str(raw.get("workspace") or ""),
        command=tuple(str(c) for c in raw.get("command") or ()),
        profile=str(raw.get("profile") or ""),
        started=float(raw.get("started") or 0.0),
    )


def review_item(raw: Mapping[str, Any]) -> ReviewItem:
    return ReviewItem(
        id=str(raw.get("id", "")),
        kind=str(raw.get("kind", "")),
        workspace=str(raw.get("workspace") or ""),
        session=str(raw.get("session") or ""),
        path=str(raw.get("path") or ""),
        summary=str(raw.get("summary") or ""),
        detail=str(raw.get("detail") or ""),
        band=str(raw.get("band") or "low"),
        score=int(raw.get("score") or 0),
        reasons=_reasons(raw.get("reasons")),
        ts=float(raw.get("ts") or 0.0),
        actions=tuple(str(a) for a in raw.get("actions") or ()),
    )


def _paused(raw: Any) -> Paused | None:
    if not isinstance(raw, Mapping):
        return None
    until = raw.get("until")
    return Paused(float(until) if until is not None else None)


def _recording(raw: Any) -> str | None:
    if not isinstance(raw, Mapping):
        return None
    return str(raw.get("reason") or "the record cannot be written")


def state(raw: Mapping[str, Any], seq: int, instance: str = "") -> State:
    """The `state` of a `watch` reply."""
    return State(
        instance=instance,
        batches=tuple(batch(b) for b in raw.get("batches") or ()),
        sessions=tuple(session(s) for s in raw.get("sessions") or ()),
        review=tuple(review_item(i) for i in raw.get("review") or ()),
        paused=_paused(raw.get("paused")),
        recording_failed=_recording(raw.get("recording")),
        seq=seq,
        connected=True,
    )


# --- folding the stream ----------------------------------------------------------------


def _put(batches: tuple[Batch, ...], new: Batch) -> tuple[Batch, ...]:
    """`new` in place of the batch of the same id, or added at the end."""
    if any(b.batch == new.batch for b in batches):
        return tuple(new if b.batch == new.batch else b for b in batches)
    return (*batches, new)


def _one_member(batches: tuple[Batch, ...], raw: Mapping[str, Any], new: Member | None) -> Batch:
    """The batch after a change about one member: `batch.joined` and `batch.expired`
    carry the batch's header and that member, not the other members again. The member
    takes the place of the one with its event id (a change already shown in the state
    the watch began with changes nothing), or joins at the end."""
    if "members" in raw:  # a whole batch, as `queue` lists it
        return batch(raw)
    known = next((b for b in batches if b.batch == str(raw.get("batch", ""))), None)
    members = known.members if known else ()
    waiting = known.waiting if known else 0
    if new is not None:
        at = next((n for n in range(len(members) - 1, -1, -1) if members[n].event == new.event),
                  -1)  # fmt: skip
        if at >= 0:
            waiting += int(new.waiting) - int(members[at].waiting)
            members = (*members[:at], new, *members[at + 1 :])
        else:
            waiting += int(new.waiting)
            members = (*members, new)
    return replace(batch(raw), members=members, waiting=waiting)


def fold(current: State, raw: Mapping[str, Any]) -> tuple[State, Change]:
    """Apply one change line of the `watch` stream; unknown changes only move `seq`."""
    name = str(raw.get("change", ""))
    seq = int(raw.get("seq", current.seq))
    s = replace(current, seq=seq)
    change = Change(name, seq)
    if name in ("batch.added", "batch.joined", "batch.expired") and "batch" in raw:
        m = member(raw["member"]) if isinstance(raw.get("member"), Mapping) else None
        b = _one_member(s.batches, raw["batch"], m)
        s = replace(s, batches=_put(s.batches, b))
        change = Change(name, seq, batch=b, member=m)
    elif name == "batch.decided":
        kept = raw.get("state")
        if isinstance(kept, Mapping):
            b = batch(kept)
            s = replace(s, batches=_put(s.batches, b))
        else:
            gone = str(raw.get("batch", ""))
            s = replace(s, batches=tuple(b for b in s.batches if b.batch != gone))
    elif name == "session.opened" and isinstance(raw.get("session"), Mapping):
        new = session(raw["session"])
        others = tuple(x for x in s.sessions if x.session != new.session)
        s = replace(s, sessions=(*others, new))
    elif name == "session.closed":
        gone = str(raw.get("session", ""))
        s = replace(s, sessions=tuple(x for x in s.sessions if x.session != gone))
    elif name == "review.added" and isinstance(raw.get("item"), Mapping):
        item = review_item(raw["item"])
        rest = tuple(x for x in s.review if x.id != item.id)
        s = replace(s, review=(*rest, item))
        change = Change(name, seq, item=item)
    elif name == "review.resolved":
        gone = str(raw.get("id", ""))
        s = replace(s, review=tuple(x for x in s.review if x.id != gone))
    elif name == "paused":
        until = raw.get("until")
        s = replace(s, paused=Paused(float(until) if until is not None else None))
    elif name == "resumed":
        s = replace(s, paused=None)
    elif name == "recording.failed":
        s = replace(s, recording_failed=_recording(raw))
    elif name == "recording.restored":
        s = replace(s, recording_failed=None)
    return s, change
