"""The verdict on one complete, visible request: canaries, the agent's login, a bound
credential, then the destination's rule; an undecided one is asked about.

The addon calls `judge` once a request's body is whole, and acts on the outcome.
"""

from __future__ import annotations

import asyncio
import logging

from mitmproxy import http

from sandbox.proxy.destinations import policy_outcome
from sandbox.proxy.inspect import MISSING_PREFIX, RequestView, find_canary, foreign_credential
from sandbox.proxy.login_checks import check_login
from sandbox.proxy.rules import Decision
from sandbox.proxy.session import (
    Answer,
    Event,
    NotRecorded,
    Outcome,
    SecretBinding,
    SessionNet,
)

logger = logging.getLogger(__name__)


def request_view(flow: http.HTTPFlow) -> RequestView:
    """The request as the checks search it; a compressed body is searched decoded too
    (a canary inside gzip is still a canary)."""
    body = flow.request.raw_content or b""
    decoded = flow.request.get_content(strict=False) or b""
    return RequestView(
        url=flow.request.url,
        headers=list(flow.request.headers.items(multi=True)),  # type: ignore[no-untyped-call]
        body=body if decoded == body else body + b"\n" + decoded,
    )


async def judge(
    session: SessionNet, flow: http.HTTPFlow, host: str, decision: Decision, event: Event
) -> tuple[Outcome, SecretBinding | None]:
    """The outcome for a complete request to `host` whose destination the rules decided
    as `decision`; with the credential binding whose secret goes in if it is allowed."""
    view = request_view(flow)
    canary = find_canary(view, session.canary_forms())
    login = None if canary is not None else check_login(session, flow, host, view)
    binding = session.bindings.get(host) if login is None else None
    if canary is not None:
        why = "the request carries this session's canary token"
        return Outcome("deny", "canary", why, critical=True), None
    if login is not None and login.critical:
        return login, None  # the login's token toward another vendor, or a foreign key
    if decision.action == "deny":
        return policy_outcome(decision), None
    if login is not None:
        return login, None
    if binding is not None:
        return _bound(binding, flow, host, view), binding
    if decision.action == "allow":
        return policy_outcome(decision), None
    answer = await ask_service(session, event)
    outcome = Outcome(
        "allow" if answer.allow else "deny",
        answer.by,
        answer.reason,
        scope=answer.scope,
        batch=answer.batch,
    )
    return outcome, None


def _bound(binding: SecretBinding, flow: http.HTTPFlow, host: str, view: RequestView) -> Outcome:
    """A request to a domain bound to a credential: HTTPS, the placeholder, nothing foreign."""
    if binding.secret is None:
        why = f"credential {binding.name!r} is not stored: `sandgate credential add`"
        return Outcome("deny", "credential", why)
    if flow.request.scheme != "https":
        return Outcome("deny", "credential", f"{host} is bound to a credential: HTTPS only")
    if foreign := foreign_credential(view, binding.header, binding.placeholder):
        missing = foreign.startswith(MISSING_PREFIX)
        reason = foreign.removeprefix(MISSING_PREFIX)
        return Outcome("deny", "credential", reason, critical=not missing)
    return Outcome(
        "allow",
        "credential",
        f"carries the placeholder of credential {binding.name!r}",
        rule=f"credential:{binding.name}",
    )


def put_secret(flow: http.HTTPFlow, binding: SecretBinding) -> None:
    """Swap the placeholder in the bound header for the real secret (allowed requests only)."""
    if binding.secret is not None:
        value = flow.request.headers[binding.header]
        flow.request.headers[binding.header] = value.replace(binding.placeholder, binding.secret)


async def ask_service(session: SessionNet, event: Event) -> Answer:
    """Wait for the service's answer; the session closing or a stuck service deny."""
    asking = asyncio.ensure_future(session.ask(event))
    closing = asyncio.ensure_future(session.closed.wait())
    session.waiting += 1
    try:
        done, _ = await asyncio.wait(
            {asking, closing},
            timeout=session.ask_timeout + 10,
            return_when=asyncio.FIRST_COMPLETED,
        )
    finally:
        session.waiting -= 1
        closing.cancel()
    if asking in done and not asking.cancelled() and asking.exception() is None:
        return asking.result()
    asking.cancel()
    if closing in done:
        return Answer(False, "closed", "the session ended while the request waited")
    if asking in done and isinstance(asking.exception(), NotRecorded):
        return Answer(False, "recording", str(asking.exception()))
    if asking in done:
        logger.error("asking about a request failed", exc_info=asking.exception())
        return Answer(False, "error", "Sandgate could not ask about this request")
    return Answer(False, "timeout", "no decision in time")
