"""The decision queue: requests that no rule decides wait here for a person.

A held request joins the pending batch of its triage signature; the first decision on
a batch releases every request in it. A decision has a scope — `once` (this batch),
`session`, `workspace`, `always` — and an optional expiry; the wider scopes are
remembered and decide later requests without asking. A remembered egress decision
matches the destination (host and port), whatever the method, and an `allow` covers
later requests up to the band it was given at: a riskier request asks again (a `deny`
covers every band: refusing more is never the unsafe side). `always`
is refused for a critical batch, and allowing a critical batch needs `confirm`, a
deliberate second step. A request nobody answers is denied when its timeout passes;
its batch stays in the inbox, listed as expired, and can still be decided for the
requests that come after.

The operations `queue` and `decide` are registered on the service socket, which is
never bound into a sandbox: nothing inside can decide.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import os
import re
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sandbox.proxy.session import Answer

if TYPE_CHECKING:
    from app.service.runtime import Parts
    from app.service.server import Request

logger = logging.getLogger(__name__)

SCOPES = ("once", "session", "workspace", "always")
LASTING = ("workspace", "always")  # kept across restarts of the service
DEFAULT_TIMEOUT = 60.0
KEEP_EXPIRED = 200  # expired batches kept in the inbox, newest first


class QueueError(ValueError):
    """A decision the queue refuses (unknown batch, bad scope, critical without confirm)."""


@dataclass
class Member:
    """One held (or formerly held) request of a batch."""

    event: dict[str, Any]
    verdict: dict[str, Any]
    session: str
    workspace: str | None
    future: asyncio.Future[Answer] | None
    timer: asyncio.TimerHandle | None = None

    @property
    def waiting(self) -> bool:
        return self.future is not None and not self.future.done()

    def to_dict(self) -> dict[str, Any]:
        event = self.event
        if event.get("kind") == "net.request":
            summary = f"{event.get('method', '')} {event.get('url', '')}"
        else:
            summary = f"{event.get('host', '')}:{event.get('port', '')}"
        return {
            "event": event.get("id"),
            "session": self.session,
            "kind": event.get("kind"),
            "summary": summary,
            "score": self.verdict.get("score", 0),
            "band": self.verdict.get("band", "low"),
            "reasons": self.verdict.get("reasons", []),
            "waiting": self.waiting,
        }


_BANDS = ("low", "medium", "high", "critical")


@dataclass
class Batch:
    id: str
    signature: str
    created: float
    members: list[Member] = field(default_factory=list)

    @property
    def band(self) -> str:
        found = [m.verdict.get("band", "low") for m in self.members]
        return max(found, key=lambda b: _BANDS.index(b) if b in _BANDS else 0, default="low")

    @property
    def score(self) -> int:
        return max((int(m.verdict.get("score", 0)) for m in self.members), default=0)

    @property
    def state(self) -> str:
        return "pending" if any(m.waiting for m in self.members) else "expired"

    def to_dict(self) -> dict[str, Any]:
        return {
            "batch": self.id,
            "signature": self.signature,
            "state": self.state,
            "band": self.band,
            "score": self.score,
            "created": self.created,
            "members": [m.to_dict() for m in self.members],
        }


def _rank(band: str) -> int:
    return _BANDS.index(band) if band in _BANDS else len(_BANDS) - 1


@dataclass(frozen=True)
class Remembered:
    """A decision with a scope wider than once, applied to later requests.

    `signature` is what it matches (`decision_key`: `net HOST:PORT` for egress, else
    the batch signature); `band` the riskiest band it was given at."""

    signature: str
    decision: str
    scope: str
    batch: str
    session: str | None = None
    workspace: str | None = None
    expires: float | None = None
    band: str = "low"

    def applies(
        self, key: str, session: str, workspace: str | None, now: float, band: str = "low"
    ) -> bool:
        if key != self.signature or (self.expires is not None and now >= self.expires):
            return False
        if self.decision == "allow" and _rank(band) > _rank(self.band):
            return False
        if self.scope == "session":
            return session == self.session
        if self.scope == "workspace":
            return workspace is not None and workspace == self.workspace
        return self.scope == "always"


# Told of every decision a person makes: (batch, decision, scope, expires, event ids).
OnDecided = Callable[[str, str, str, float | None, list[str]], Any]


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
        self._ids = itertools.count(1)

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
        rule = self.remembered_for(decision_key(event, signature), session, workspace, band)
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
        member = Member(event, verdict, session, workspace, future)
        member.timer = loop.call_later(max(timeout, 0.0), self._expire, member)
        batch.members.append(member)
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
        if batch is None:
            raise QueueError(f"no batch {batch_id!r} in the queue")
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
            if scope == "always":
                raise QueueError("a critical batch can never be allowed always")
            if not confirm:
                raise QueueError(
                    f"batch {batch_id} is critical: allowing it needs confirmation "
                    "(repeat with --confirm)"
                )
        expires = self.clock() + for_seconds if for_seconds is not None else None
        if scope != "once":
            self._remember(batch, chosen, decision, scope, expires)
        reason = f"{decision} ({scope}) by a person"
        released = 0
        for held in chosen:
            if held.waiting:
                assert held.future is not None
                held.future.set_result(
                    Answer(decision == "allow", "person", reason, scope=scope, batch=batch.id)
                )
                released += 1
        if member is None or not any(m.waiting for m in batch.members):
            del self.batches[batch_id]
        if self.on_decided is not None:
            events = [str(m.event.get("id")) for m in chosen]
            self.on_decided(batch.id, decision, scope, expires, events)
        return released

    def session_closed(self, session: str) -> None:
        """Deny what a closed session still waits for; its batches stay listed as expired."""
        for batch in self.batches.values():
            for member in batch.members:
                if member.session == session and member.waiting:
                    assert member.future is not None
                    member.future.set_result(
                        Answer(False, "closed", "the session ended while the request waited")
                    )

    def deny_all(self, reason: str = "the Sandgate service stopped") -> None:
        """Fail closed: deny every held request (the service is stopping)."""
        for batch in self.batches.values():
            for member in batch.members:
                if member.waiting:
                    assert member.future is not None
                    member.future.set_result(Answer(False, "closed", reason))

    # --- service operations ------------------------------------------------------------

    def install(self, service: Any) -> None:
        """Register the `queue` and `decide` operations on the service socket."""
        service.register("queue", self._op_queue)
        service.register("decide", self._op_decide)

    async def _op_queue(self, request: Request) -> dict[str, Any]:
        return {"batches": self.listing()}

    async def _op_decide(self, request: Request) -> dict[str, Any]:
        from app.service.server import RequestError
        from app.service.server import field as get

        try:
            released = self.decide(
                get(request, "batch", str),
                get(request, "decision", str),
                get(request, "scope", str, "once"),
                get(request, "for", (int, float), None),
                bool(get(request, "confirm", bool, False)),
                get(request, "member", str, None),
            )
        except QueueError as exc:
            raise RequestError(str(exc)) from exc
        return {"released": released}

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

    def _remember(
        self,
        batch: Batch,
        chosen: list[Member],
        decision: str,
        scope: str,
        expires: float | None,
    ) -> None:
        # The band of what the person saw: the riskiest of the requests decided.
        band = max((str(m.verdict.get("band", "low")) for m in chosen), key=_rank, default="low")
        key = decision_key(chosen[0].event, batch.signature) if chosen else batch.signature
        if scope == "always":
            keys: set[tuple[str | None, str | None]] = {(None, None)}
        elif scope == "session":
            keys = {(m.session, None) for m in batch.members}
        else:
            keys = {(None, m.workspace) for m in batch.members if m.workspace}
        for session, workspace in sorted(keys, key=str):
            self.remembered.append(
                Remembered(key, decision, scope, batch.id, session, workspace, expires, band)
            )
        if scope in LASTING:
            self._save()

    def _load(self) -> list[Remembered]:
        if self.rules_file is None:
            return []
        try:
            raw = json.loads(self.rules_file.read_text())
            rules = [Remembered(**_upgrade(entry)) for entry in raw]
        except FileNotFoundError:
            return []
        except (ValueError, TypeError) as exc:
            logger.error("ignoring unreadable remembered decisions in %s: %s", self.rules_file, exc)
            return []
        now = self.clock()
        return [r for r in rules if r.scope in LASTING and (r.expires is None or r.expires > now)]

    def _save(self) -> None:
        if self.rules_file is None:
            return
        lasting = [asdict(r) for r in self.remembered if r.scope in LASTING]
        self.rules_file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = self.rules_file.with_name(self.rules_file.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(lasting, handle, indent=1)
        tmp.replace(self.rules_file)

    def _prune(self) -> None:
        expired = [b for b in self.batches.values() if b.state == "expired"]
        for batch in sorted(expired, key=lambda b: b.created)[
            : max(0, len(expired) - KEEP_EXPIRED)
        ]:
            del self.batches[batch.id]


_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}


def decision_key(event: dict[str, Any], signature: str) -> str:
    """What a remembered decision matches: `net HOST:PORT` for a request or a tunnel
    (whatever the method), the signature for anything else."""
    if event.get("kind") == "net.request":
        from urllib.parse import urlsplit

        try:
            parts = urlsplit(str(event.get("url", "")))
            port = parts.port or _DEFAULT_PORTS.get(parts.scheme.lower())
        except ValueError:
            return signature
        if parts.hostname:
            return f"net {parts.hostname.lower().rstrip('.')}:{port}"
    if event.get("kind") == "net.connect" and event.get("host"):
        return f"net {str(event['host']).lower().rstrip('.')}:{event.get('port')}"
    return signature


_OLD_BAND = re.compile(r" \[(low|medium|high|critical)\]$")
_OLD_NET = re.compile(r"^net\.(?:request \S+|connect) (\S+?)(?::(\d+))?$")


def _upgrade(entry: dict[str, Any]) -> dict[str, Any]:
    """A decision remembered before the band left signatures: `net.request POST h [high]`
    becomes `net h:443` at band high (the port a signature left out was the default)."""
    if "band" in entry or not isinstance(entry.get("signature"), str):
        return entry
    signature, band = entry["signature"], "low"
    found = _OLD_BAND.search(signature)
    if found:
        signature, band = signature[: found.start()], found.group(1)
    net = _OLD_NET.match(signature)
    if net:
        signature = f"net {net.group(1)}:{net.group(2) or 443}"
    return {**entry, "signature": signature, "band": band}


def _fallback_signature(event: dict[str, Any]) -> str:
    if event.get("kind") == "net.request":
        from urllib.parse import urlsplit

        return f"net.request {urlsplit(str(event.get('url'))).hostname}"
    return f"{event.get('kind')} {event.get('host', '')}:{event.get('port', '')}"


async def install(parts: Parts) -> None:
    """The service extension: the decision queue, and the egress proxy that feeds it."""
    from app.service.egress import install_egress

    queue = DecisionQueue(rules_file=parts.paths.state / "decisions.json")
    queue.install(parts.service)
    await install_egress(parts, queue)
