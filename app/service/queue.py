"""The decision queue: requests that no rule decides wait here for a person.

A held request joins the pending batch of its triage signature; the first decision on
a batch releases every request in it. A decision has a scope — `once` (this batch),
`session`, `workspace`, `always` — and an optional expiry; the wider scopes are
remembered and decide later requests without asking. A remembered egress decision
matches the destination (host and port), whatever the method, and an `allow` covers
later requests up to the band it was given at: a riskier request asks again (a `deny`
covers every band: refusing more is never the unsafe side). Allowing a critical batch
needs `confirm`, a deliberate second step, and never reaches wider than the session
(`workspace` and `always` outlive it). A request nobody answers is denied when its timeout passes;
its batch stays in the inbox, listed as expired, and can still be decided for the
requests that come after.

The operations `queue`, `decide` and `decide.preview` are in `queue_ops.py`, the
batches and members in `batches.py`. Each change of a batch is told to `on_change` (the
service's change stream, `watch`); while asking is paused (`pause.py`) a request that
would wait is denied at once and listed.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.service.batches import Batch, Member, QueueError
from app.service.remembered import (
    LASTING,
    Remembered,
    decision_key,
    load_lasting,
    save_lasting,
)
from app.service.remembered import (
    rank as _rank,
)
from sandbox.proxy.session import Answer

if TYPE_CHECKING:
    from app.service.pause import Pause

logger = logging.getLogger(__name__)

SCOPES = ("once", "session", "workspace", "always")
DEFAULT_TIMEOUT = 60.0
KEEP_EXPIRED = 200  # expired batches kept in the inbox, newest first


# Told of every decision a person makes: (batch, decision, scope, expires, ids of the
# events it released).
# What it returns, if awaitable, is awaited before the decision is acknowledged.
OnDecided = Callable[[str, str, str, float | None, list[str]], Awaitable[Any] | None]
# Told of every change of a batch: (change name, fields, sessions it concerns).
OnChange = Callable[[str, dict[str, Any], set[str]], Any]


class DecisionQueue:
    """Held requests grouped by signature, released by a person's decision or a timeout."""

    def __init__(
        self,
        clock: Callable[[], float] = time.time,
        on_decided: OnDecided | None = None,
        rules_file: Path | None = None,
    ) -> None:
        """`rules_file` keeps `workspace` and `always` decisions across restarts (0600)."""
        self.clock = clock
        self.on_decided = on_decided
        self.rules_file = rules_file
        self.batches: dict[str, Batch] = {}
        self.remembered: list[Remembered] = self._load()
        self._ids = itertools.count(1)  # see `number_after`
        self.on_change: OnChange | None = None
        self.pause: Pause | None = None
        self.instance: str | None = None  # the service run's name (`watch` tells it)
        self._recording: Awaitable[Any] | None = None

    def number_after(self, last: int) -> None:
        """Number new batches after `last` (the highest one recorded by an earlier run),
        so a batch id names one batch across restarts, in history as in the inbox."""
        self._ids = itertools.count(last + 1)

    async def ask(
        self,
        session: str,
        workspace: str | None,
        event: dict[str, Any],
        verdict: dict[str, Any],
        timeout: float = DEFAULT_TIMEOUT,
    ) -> Answer:
        """Hold `event` until its batch is decided, a remembered rule applies, or `timeout`."""
        signature = str(verdict.get("signature") or _fallback_signature(event))
        band = str(verdict.get("band", "low"))
        key = decision_key(event, signature)
        rule = self.remembered_for(key, session, workspace, band)
        if rule is not None:
            return Answer(
                rule.decision == "allow",
                "remembered",
                f"{rule.decision} ({rule.scope}) decided on batch {rule.batch}",
                scope=rule.scope,
                batch=rule.batch,
            )
        batch = self._batch_for(signature)
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Answer] = loop.create_future()
        member = Member(event, verdict, session, workspace, future, key)
        if self.pause is not None and self.pause.active():
            # Nobody is asked while paused: denied now, listed for a later look.
            future.set_result(Answer(False, "paused", "asking is paused: denied, not asked"))
        member.timer = loop.call_later(max(timeout, 0.0), self._expire, member)
        batch.add(member)
        self._tell("batch.added" if len(batch.members) == 1 else "batch.joined", batch, member)
        try:
            return await asyncio.shield(future)
        finally:
            member.timer.cancel()

    def remembered_for(
        self, key: str, session: str, workspace: str | None, band: str = "low"
    ) -> Remembered | None:
        """The newest remembered decision that applies to a request of `band` with this
        `decision_key`, if any; drops expired ones."""
        now = self.clock()
        self.remembered = [r for r in self.remembered if r.expires is None or r.expires > now]
        for rule in reversed(self.remembered):
            if rule.applies(key, session, workspace, now, band):
                return rule
        return None

    def listing(self) -> list[dict[str, Any]]:
        """Pending batches first, then expired ones, each oldest first."""
        ordered = sorted(self.batches.values(), key=lambda b: (b.state != "pending", b.created))
        return [b.to_dict() for b in ordered]

    def decide(
        self,
        batch_id: str,
        decision: str,
        scope: str = "once",
        for_seconds: float | None = None,
        confirm: bool = False,
        member: str | None = None,
    ) -> int:
        """Decide a batch, or one request of it (`member`, an event id); return how many
        held requests it released. A high or critical batch with several requests
        waiting is decided one request at a time, never by approving them all."""
        batch = self.batches.get(batch_id)
        if batch is None:  # a second click, or a service restarted since: never applied
            raise QueueError(
                f"no batch {batch_id!r} in the queue: decided already, or the service restarted"
            )
        chosen = [m for m in batch.members if member is None or m.event.get("id") == member]
        if not chosen:
            raise QueueError(f"batch {batch_id} has no request {member!r}")
        waiting = [m for m in batch.members if m.waiting]
        if member is None and batch.band in ("high", "critical") and len(waiting) > 1:
            raise QueueError(
                f"batch {batch_id} is {batch.band} risk: decide its requests one by one "
                "(--member EVENT, ids in `sandgate queue`)"
            )
        if decision not in ("allow", "deny"):
            raise QueueError("decision must be 'allow' or 'deny'")
        if scope not in SCOPES:
            raise QueueError(f"scope must be one of {', '.join(SCOPES)}")
        if for_seconds is not None and for_seconds <= 0:
            raise QueueError("'for' must be a positive number of seconds")
        critical = batch.band == "critical"
        if critical and decision == "allow":
            if scope in LASTING:  # workspace and always outlive the session and the service
                raise QueueError(
                    f"a critical batch can never be allowed with scope {scope!r}: "
                    "at most for this session"
                )
            if not confirm:
                raise QueueError(
                    f"batch {batch_id} is critical: allowing it needs confirmation "
                    "(repeat with --confirm)"
                )
        expires = self.clock() + for_seconds if for_seconds is not None else None
        if scope != "once":
            self._remember(batch, chosen, decision, scope, expires)
        reason = f"{decision} ({scope}) by a person"
        answer = Answer(decision == "allow", "person", reason, scope=scope, batch=batch.id)
        freed = [m for m in chosen if m.waiting]
        released = len(freed)
        also = self._also(batch, chosen, decision, scope, expires) if scope != "once" else []
        for held in [*freed, *(m for _, m in also)]:
            assert held.future is not None
            held.future.set_result(answer)
        if member is None or not any(m.waiting for m in batch.members):
            del self.batches[batch_id]
        if self.on_decided is not None:
            events = [str(m.event.get("id")) for m in [*freed, *(m for _, m in also)]]
            self._recording = self.on_decided(batch.id, decision, scope, expires, events)
        fields: dict[str, Any] = {
            "batch": batch.id, "decision": decision, "scope": scope,
            "released": released, "member": member, "by": "user",
        }  # fmt: skip
        if batch.id in self.batches:
            fields["state"] = batch.to_dict()
        self._publish("batch.decided", fields, set(batch.sessions))
        for other in {id(b): b for b, _ in also}.values():
            if not any(m.waiting for m in other.members):
                self.batches.pop(other.id, None)
            body = {**fields, "batch": other.id, "released": sum(o is other for o, _ in also)}
            body.pop("state", None)
            if other.id in self.batches:
                body["state"] = other.to_dict()
            self._publish("batch.decided", body, set(other.sessions))
        return released + len(also)

    def preview(self, batch_id: str, scope: str, decision: str = "allow") -> list[dict[str, Any]]:
        """What else deciding `batch_id` with `scope` would decide now: the other batches
        whose waiting requests the remembered decision would match."""
        batch = self.batches.get(batch_id)
        if batch is None:
            raise QueueError(f"no batch {batch_id!r} in the queue (decided or gone)")
        if scope not in SCOPES:
            raise QueueError(f"scope must be one of {', '.join(SCOPES)}")
        if scope == "once":
            return []
        counts: dict[str, tuple[Batch, int]] = {}
        waiting = [m for m in batch.members if m.waiting] or list(batch.members)
        for other, _held in self._also(batch, waiting, decision, scope, None):
            counts[other.id] = (other, counts.get(other.id, (other, 0))[1] + 1)
        return [{"batch": b.id, "signature": b.signature, "waiting": n} for b, n in counts.values()]

    def session_closed(self, session: str) -> None:
        """Deny what a closed session still waits for; its batches stay listed as expired."""
        for batch in self.batches.values():
            for member in batch.members:
                if member.session == session and member.waiting:
                    assert member.future is not None
                    member.future.set_result(
                        Answer(False, "closed", "the session ended while the request waited")
                    )
                    self._tell("batch.expired", batch, member)

    def deny_all(self, reason: str = "the Sandgate service stopped") -> None:
        """Fail closed: deny every held request (the service is stopping)."""
        for batch in self.batches.values():
            for member in batch.members:
                if member.waiting:
                    assert member.future is not None
                    member.future.set_result(Answer(False, "closed", reason))

    # --- service operations ------------------------------------------------------------

    def take_recording(self) -> Awaitable[Any] | None:
        """What the last decision's recording is (awaited before `decide` answers)."""
        recording, self._recording = self._recording, None
        return recording

    async def batches_state(self, session: str | None = None) -> list[dict[str, Any]]:
        """The `batches` part of a `watch` state (those with a member of `session`)."""
        listed = self.listing()
        if session is None:
            return listed
        return [b for b in listed if any(m["session"] == session for m in b["members"])]

    # --- internals -----------------------------------------------------------------------

    def _batch_for(self, signature: str) -> Batch:
        for batch in self.batches.values():
            if batch.signature == signature:
                return batch
        batch = Batch(id=f"b{next(self._ids)}", signature=signature, created=self.clock())
        self.batches[batch.id] = batch
        self._prune()
        return batch

    def _expire(self, member: Member) -> None:
        if member.waiting:
            assert member.future is not None
            member.future.set_result(
                Answer(False, "timeout", "no decision in time: a timeout is not consent")
            )
            for batch in self.batches.values():
                if member in batch.members:
                    self._tell("batch.expired", batch, member)

    def _tell(self, name: str, batch: Batch, member: Member | None, **fields: Any) -> None:
        """Publish a change of `batch`: the member it concerns, and the batch whole when
        it is new, otherwise its header (the watcher already holds the other members)."""
        whole = name == "batch.added"
        body: dict[str, Any] = {"batch": batch.to_dict() if whole else batch.header(), **fields}
        if member is not None:
            body["member"] = member.to_dict()
        self._publish(name, body, set(batch.sessions))

    def _publish(self, name: str, fields: dict[str, Any], sessions: set[str]) -> None:
        if self.on_change is not None:
            self.on_change(name, fields, sessions)

    def _also(
        self,
        batch: Batch,
        chosen: list[Member],
        decision: str,
        scope: str,
        expires: float | None,
    ) -> list[tuple[Batch, Member]]:
        """Waiting requests of other batches that deciding `batch` with `scope` would
        decide too: matched by the remembered-decision code itself."""
        rules = self._rules(batch, chosen, decision, scope, expires)
        keys = {r.signature for r in rules}  # a rule matches its own key only
        now = self.clock()
        return [
            (other, m)
            for other in self.batches.values()
            if other is not batch
            for m in other.members
            if m.key in keys
            and m.waiting
            and any(
                r.applies(
                    m.key,
                    m.session,
                    m.workspace,
                    now,
                    str(m.verdict.get("band", "low")),
                )
                for r in rules
            )
        ]

    def _remember(
        self,
        batch: Batch,
        chosen: list[Member],
        decision: str,
        scope: str,
        expires: float | None,
    ) -> None:
        self.remembered.extend(self._rules(batch, chosen, decision, scope, expires))
        if scope in LASTING:
            self.save_remembered()

    def _rules(
        self,
        batch: Batch,
        chosen: list[Member],
        decision: str,
        scope: str,
        expires: float | None,
    ) -> list[Remembered]:
        """The remembered decisions a decision on `chosen` of `batch` with `scope` makes:
        matching their `decision_key`, up to the riskiest band the person saw."""
        band = max((str(m.verdict.get("band", "low")) for m in chosen), key=_rank, default="low")
        key = chosen[0].key if chosen else batch.signature
        if scope == "always":
            keys: set[tuple[str | None, str | None]] = {(None, None)}
        elif scope == "session":
            keys = {(m.session, None) for m in batch.members}
        else:
            keys = {(None, m.workspace) for m in batch.members if m.workspace}
        made = self.clock()
        return [
            Remembered(key, decision, scope, batch.id, session, workspace, expires, band, made)
            for session, workspace in sorted(keys, key=str)
        ]

    def _load(self) -> list[Remembered]:
        return [] if self.rules_file is None else load_lasting(self.rules_file, self.clock())

    def save_remembered(self) -> None:
        """Write the lasting remembered decisions to the state file."""
        if self.rules_file is not None:
            save_lasting(self.rules_file, self.remembered)

    def _prune(self) -> None:
        expired = [b for b in self.batches.values() if b.state == "expired"]
        for batch in sorted(expired, key=lambda b: b.created)[
            : max(0, len(expired) - KEEP_EXPIRED)
        ]:
            del self.batches[batch.id]


def _fallback_signature(event: dict[str, Any]) -> str:
    if event.get("kind") == "net.request":
        from urllib.parse import urlsplit

        return f"net.request {urlsplit(str(event.get('url'))).hostname}"
    return f"{event.get('kind')} {event.get('host', '')}:{event.get('port', '')}"
