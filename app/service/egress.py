"""The service side of the egress proxy: one `EgressProxy`, a session hook, and recording.

Each session that has a network section gets a proxy session: its events are triaged
and stored with the decision and the rule or person that made it; requests no rule
decides are held in the `DecisionQueue` until someone answers `sandgate decide`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.service.backends import shown
from app.service.egress_credentials import CredentialIndex, default_env, secret_for
from app.service.egress_logins import SessionLogins, prepare_logins
from app.service.fetch import FetchRules
from app.service.record_health import RecordHealth
from app.service.server import RequestError
from sandbox.proxy.engine import EgressProxy
from sandbox.proxy.rules import RuleError
from sandbox.proxy.session import Answer, Event, NotRecorded, Outcome, SecretBinding

if TYPE_CHECKING:
    from app.service.parts import Parts
    from app.service.queue import DecisionQueue
    from sandbox.proxy.plan import NetworkPlan

logger = logging.getLogger(__name__)


def credentials_file(config_dir: Path) -> Path:
    return config_dir / "credentials.json"


class Egress:
    """A `SessionHook`: opens and closes proxy sessions as sandboxes come and go."""

    def __init__(self, parts: Parts, queue: DecisionQueue, proxy: EgressProxy) -> None:
        self.parts = parts
        self.queue = queue
        self.proxy = proxy
        self.index = CredentialIndex(credentials_file(parts.paths.config))
        self._verdicts: dict[str, dict[str, Any]] = {}
        self._started = False
        self._starting = asyncio.Lock()
        self._bound: dict[str, dict[str, str]] = {}
        self._seen: dict[str, int] = {}  # event id -> row of a held event recorded when seen
        self._logins: dict[str, SessionLogins] = {}
        self._starts: dict[str, dict[str, Any]] = {}  # the context triage was given
        self._fetch: dict[str, FetchRules] = {}  # `network.fetch` of each session
        self.health = RecordHealth(
            parts.changes,
            shown(parts.db.store.at),
            halt=proxy.halt,
            resume=proxy.resume,
            sessions=lambda: list(parts.sessions.live),
        )

    def bound(self, session: str) -> dict[str, str]:
        """Domain → placeholder of `session`: the `bound` field of its `session.start`."""
        return dict(self._bound.get(session, {}))

    def start_context(self, session: str) -> dict[str, list[str]]:
        """The `placeholders` and `logins` fields of the session's `session.start`: the
        agent's own login, which triage must not take for a secret or a theft."""
        logins = self._logins.get(session)
        if logins is None:
            return {}
        return {
            "placeholders": sorted(logins.tokens.real),
            "logins": sorted(str(v.host_file) for v in logins.views),
            "own_domains": sorted(logins.endpoints()),
        }

    def _retriage(self, session: str) -> None:
        """New placeholders (a refresh, a login inside): tell triage, so the requests that
        carry them are not ranked as secrets sent out. Not recorded: no action happened."""
        start = self._starts.get(session)
        if start is not None:
            context = {"canaries": self._canaries(session), "bound": self.bound(session)}
            self.parts.triage.score_dict({**start, **context, **self.start_context(session)})

    async def ensure_started(self) -> EgressProxy:
        """Start the proxy on first use: a service whose sessions have no network (and
        the service's own tests) never pays for the CA or mitmproxy."""
        async with self._starting:
            if not self._started:
                await self.proxy.start()
                self._started = True
        return self.proxy

    async def opening(self, session: str, workspace: Path, policy: Any) -> NetworkPlan | None:
        network = getattr(policy, "network", None)
        if network is None:
            return None
        loop = asyncio.get_running_loop()
        request = self.parts.sessions.opening.get(session)
        home = request.home if request is not None else Path.home()
        env = request.env if request is not None else {}
        folder = self.parts.paths.sessions / session
        logins = await loop.run_in_executor(
            None, prepare_logins, policy, home, env, folder, secret_for
        )
        self._logins[session] = logins
        self._fetch[session] = FetchRules.compile(getattr(network, "fetch", ()))
        logins.on_new_tokens = partial(self._retriage, session)
        self._starts[session] = {
            "id": f"{session}-logins",
            "session": session,
            "kind": "session.start",
            "workspace": str(workspace),
            "home": str(home),
        }
        supplied = self.parts.sessions.supplied(session)
        bindings = await loop.run_in_executor(None, self._bindings, policy, logins, supplied)
        self._bound[session] = {b.domain: b.placeholder for b in bindings}
        await self.ensure_started()
        try:
            plan = await self.proxy.open_session(
                session,
                network,
                bindings,
                canaries=partial(self._canaries, session),
                on_event=partial(self._on_event, session),
                ask=partial(self._ask, session, str(workspace), float(network.ask_timeout)),
                logins=logins.tokens,
            )
        except RuleError as exc:
            raise RequestError(f"policy network section: {exc}") from exc
        return dataclasses.replace(
            plan,
            env={**plan.env, **logins.env},
            login_files=logins.login_files(),
            login_tokens=logins.tokens.real,
            placeholders=(*plan.placeholders, *logins.env),
        )

    async def closing(self, session: str) -> None:
        self._bound.pop(session, None)
        self._starts.pop(session, None)
        self._fetch.pop(session, None)
        self.queue.session_closed(session)
        await self.proxy.close_session(session)
        logins = self._logins.pop(session, None)
        if logins is not None:
            await logins.close()  # new tokens into the real login files

    async def stop(self) -> None:
        self.queue.deny_all()
        if self._started:
            await self.proxy.stop()

    def _bindings(
        self, policy: Any, logins: SessionLogins, supplied: dict[str, str]
    ) -> list[SecretBinding]:
        """The policy's credentials, then those added with `sandgate credential add`;
        except the agent's own login (its vendor's key, its endpoints), which the
        session's login carries instead. A secret the session's opener supplied
        (`sandgate demo`) is used instead of the keyring's, for that session only; the
        keyring is then not asked for it."""

        def secret(name: str) -> str | None:
            return supplied[name] if name in supplied else secret_for(name)

        found: dict[str, SecretBinding] = {}
        vendors, endpoints = logins.vendors(), logins.endpoints()
        for entry in self.index.load().values():
            if entry.name in vendors or entry.domain in endpoints:
                continue
            found[entry.name] = SecretBinding(
                entry.name, entry.domain, entry.header, entry.env, secret(entry.name)
            )
        for cred in getattr(policy, "credentials", ()):
            if cred.name in vendors or cred.domain in endpoints:
                continue
            env = getattr(cred, "env", None) or default_env(cred.name)
            found[cred.name] = SecretBinding(
                cred.name, cred.domain, cred.header, env, secret(cred.name)
            )
        return list(found.values())

    def _canaries(self, session: str) -> list[str]:
        live = self.parts.sessions.live.get(session)
        if live is None:
            return []
        return [d.canary for d in live.prepared.decoys]

    def _verdict(self, session: str, event: Event) -> dict[str, Any]:
        key = str(event["id"])
        if key not in self._verdicts:
            verdict = self.parts.triage.score_dict({**event, "session": session}).to_dict()
            self._verdicts[key] = dict(verdict)
        return self._verdicts[key]

    async def _ask(self, session: str, workspace: str, timeout: float, event: Event) -> Answer:
        verdict = self._verdict(session, event)
        # Recorded when seen, its outcome when known: a held request is in history even
        # if the service dies while it waits.
        db = self.parts.db
        row = await self._write(db.store.add_event, session, event, verdict, event.get("ts"))
        self._seen[str(event["id"])] = row
        if self.parts.review is not None:
            await self.parts.review.event_recorded(row, dict(event), verdict)
        fetch = self._fetch.get(session, FetchRules()).rule_for(event, verdict)
        if fetch is not None:
            return Answer(True, f"fetch:{fetch}", f"a read from {fetch} (network.fetch)")
        return await self.queue.ask(session, workspace, event, verdict, timeout)

    async def _on_event(self, session: str, event: Event, outcome: Outcome) -> None:
        verdict = self._verdict(session, event)
        self._verdicts.pop(str(event["id"]), None)
        if outcome.critical:
            verdict = critical_verdict(verdict, outcome)
        db = self.parts.db
        event_id = self._seen.pop(str(event["id"]), None)
        if event_id is None:
            event_id = await self._write(
                db.store.add_event, session, event, verdict, event.get("ts")
            )
            if self.parts.review is not None:
                await self.parts.review.event_recorded(event_id, dict(event), verdict)
        if outcome.by == "person":
            by = "user"
        elif outcome.rule:
            by = f"{outcome.by}:{outcome.rule}"
        else:
            by = outcome.by
        await self._write(
            db.store.add_decision,
            outcome.action,
            outcome.scope or "once",
            by,
            events_=[event_id],
            batch=outcome.batch,
        )

    def on_decided(
        self, batch: str, decision: str, scope: str, expires: float | None, events: list[str]
    ) -> asyncio.Future[Any]:
        """A person's decision, recorded on each event it released (or once for the batch
        alone); `decide` awaits the returned task before it answers."""
        db = self.parts.db
        rows = [self._seen[e] for e in events if e in self._seen]
        task = asyncio.ensure_future(
            self._write(
                db.store.add_decision,
                decision,
                scope,
                "user",
                events_=rows,
                batch=batch,
                expires=expires,
            )
        )
        task.add_done_callback(_log_failure)
        return task

    async def _write(self, method: Any, *args: Any, **kwargs: Any) -> Any:
        """A store write for the proxy's record. If it fails, every session loses its
        network (`RecordHealth`) and `NotRecorded` says why: the proxy then refuses what
        the record was for."""
        try:
            result = await self.parts.db.call(method, *args, **kwargs)
        except Exception as exc:
            raise NotRecorded(self.health.failed(exc)) from exc
        self.health.succeeded()
        return result


CRITICAL_SCORE = 80  # the lowest score of the critical band (events.md)


def critical_verdict(verdict: dict[str, Any], outcome: Outcome) -> dict[str, Any]:
    """The verdict as history records it when the proxy refused the request as critical
    (a canary, a foreign credential on a bound domain, a login token sent elsewhere):
    the proxy saw the whole request, so its judgement stands even where triage's rules
    scored lower. The proxy's reason joins the verdict's, named `proxy.BY`."""
    if verdict.get("band") == "critical":
        return verdict
    score = int(verdict.get("score", 0))
    reasons = list(verdict.get("reasons", []))
    reasons.append(
        {
            "rule": f"proxy.{outcome.by}",
            "points": CRITICAL_SCORE - score,
            "why": f"Sandgate's proxy refused it as critical: {outcome.reason}",
        }
    )
    return {**verdict, "score": max(score, CRITICAL_SCORE), "band": "critical", "reasons": reasons}


def _log_failure(task: asyncio.Future[Any]) -> None:
    if task.cancelled() or isinstance(task.exception(), NotRecorded):
        return  # a failed record is logged (once) by RecordHealth
    if task.exception() is not None:
        logger.error("recording a decision failed", exc_info=task.exception())


async def install_egress(parts: Parts, queue: DecisionQueue) -> Egress:
    """Join the service: session hook, decision records, stop (the proxy starts lazily)."""
    egress = Egress(parts, queue, EgressProxy(parts.paths.data, parts.paths.runtime))
    queue.on_decided = egress.on_decided
    parts.sessions.hooks.append(egress)
    parts.on_stop.append(egress.stop)
    parts.changes.provide("recording", egress.health.state)
    return egress
