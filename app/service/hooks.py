"""Agents' permission hooks: a tool call is asked about before it runs.

`sandgate hook claude-code` (or `codex`) hands the agent's hook payload to the service
with `tool.ask`. The service turns it into a `tool.call` event, records it with its
verdict, and answers:

- inside a Sandgate sandbox (the request came on the session's channel), a low-risk
  call is allowed at once: the sandbox is the boundary, so the agent's reflex prompt
  is not needed;
- outside any sandbox (the request came on the service socket), a low-risk call gets
  no answer from Sandgate, and the agent's own permission mode applies;
- everything else, and always a call that asks to leave the agent's own sandbox (a
  `tool.leaves-sandbox` verdict, or any Codex `PermissionRequest`), is residue: it
  waits in the decision queue like any batch until a person (a remembered decision,
  or the timeout, which denies) decides.

The event is recorded before the answer, and the decision with it. A hook outside a
sandbox has no Sandgate session, so one is made per agent session (`session_id` of
the payload) the first time it asks, and ended when the service stops.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.service.channel import Channel
from app.service.server import Request, RequestError
from app.service.server import field as get
from sandbox.bwrap import CHANNEL_FILE

if TYPE_CHECKING:
    from app.service.parts import Parts
    from app.service.queue import DecisionQueue

HOOK_TIMEOUT = 120.0  # seconds a held tool call waits for a person before it is denied
AGENTS = ("claude-code", "codex")
HOOK_EVENTS = ("PreToolUse", "PermissionRequest")
ESCAPE_RULE = "tool.leaves-sandbox"


def tool_event(agent: str, payload: dict[str, Any]) -> dict[str, Any]:
    """The `tool.call` event (events.md) for an agent's hook payload; RequestError if
    the payload lacks what every hook payload of these agents carries."""
    tool = payload.get("tool_name")
    if not isinstance(tool, str) or not tool:
        raise RequestError("tool.ask: the hook payload has no 'tool_name'")
    data = payload.get("tool_input", {})
    if not isinstance(data, dict):
        raise RequestError("tool.ask: the hook payload's 'tool_input' is not an object")
    event: dict[str, Any] = {"kind": "tool.call", "tool": tool, "input": data, "agent": agent}
    for key, name in (
        ("hook_event_name", "hook"),
        ("tool_use_id", "tool_use_id"),
        ("session_id", "agent_session"),
        ("agent_id", "subagent"),
        ("cwd", "cwd"),
        ("permission_mode", "permission_mode"),
    ):
        value = payload.get(key)
        if isinstance(value, str) and value:
            event[name] = value
    return event


class Hooks:
    """The `tool.ask` operation, the per-session channels, and hook sessions outside
    any sandbox. A `SessionHook`: each sandboxed session gets its channel when it opens."""

    def __init__(self, parts: Parts, queue: DecisionQueue, timeout: float = HOOK_TIMEOUT) -> None:
        self.parts = parts
        self.queue = queue
        self.timeout = timeout
        self.channels: dict[str, Channel] = {}
        # (agent, the agent's session id) -> (Sandgate session, workspace), outside sandboxes
        self.outside: dict[tuple[str, str], tuple[str, str]] = {}
        self._opening = asyncio.Lock()

    def install(self) -> None:
        self.parts.service.register("tool.ask", self._op_ask)
        self.parts.sessions.hooks.append(self)
        self.parts.on_stop.append(self.stop)

    # -- SessionHook ----------------------------------------------------------------------

    async def opening(self, session: str, workspace: Path, policy: Any) -> None:
        """Open the session's channel in its folder, where the sandbox plan binds it."""
        path = self.parts.paths.sessions / session / CHANNEL_FILE
        channel = Channel(session, path, {"tool.ask": self._channel_ask, "event": self._event})
        await channel.start()
        self.channels[session] = channel

    async def closing(self, session: str) -> None:
        channel = self.channels.pop(session, None)
        if channel is not None:
            await channel.stop()
        self.queue.session_closed(session)

    def bound(self, session: str) -> dict[str, str]:
        return {}

    async def stop(self) -> None:
        for session in list(self.channels):
            await self.closing(session)
        db = self.parts.db
        for session, _workspace in self.outside.values():
            self.queue.session_closed(session)
            await db.call(db.store.end_session, session, None)
            self.parts.triage.forget(session)
        self.outside.clear()

    # -- operations -----------------------------------------------------------------------

    async def _op_ask(self, request: Request) -> dict[str, Any]:
        """`tool.ask` on the service socket: a hook outside any sandbox."""
        agent, payload = _agent_payload(request)
        session, workspace = await self._outside_session(agent, payload, request)
        return await self.ask(session, workspace, agent, payload, sandboxed=False)

    async def _channel_ask(self, session: str, request: Request) -> dict[str, Any]:
        """`tool.ask` on a session's channel: a hook inside that session's sandbox."""
        agent, payload = _agent_payload(request)
        live = self.parts.sessions.live.get(session)
        if live is None:
            raise RequestError("the session has ended")
        return await self.ask(session, str(live.workspace), agent, payload, sandboxed=True)

    async def _event(self, session: str, request: Request) -> dict[str, Any]:
        """`event` on a session's channel: record one event of that session."""
        fields = {"op": "session.event", "session": session, "event": request.get("event")}
        return await self.parts.sessions.event(fields)

    async def ask(
        self, session: str, workspace: str, agent: str, payload: dict[str, Any], *, sandboxed: bool
    ) -> dict[str, Any]:
        """Record the tool call, decide it or hold it, record the decision, answer.

        The answer's `hook` is the payload's event name; `decision` is `allow`, `deny`,
        or None (Sandgate has no opinion: the agent's own permission mode applies);
        `reason` says why, `verdict` is triage's.
        """
        event = tool_event(agent, payload)
        event["id"] = f"{session}-{secrets.token_hex(4)}"
        event["ts"] = time.time()
        event["session"] = session
        verdict = dict(self.parts.triage.score_dict(event).to_dict())
        if verdict.get("error"):
            raise RequestError(f"tool.ask: bad tool call: {verdict['error']}")
        db = self.parts.db
        row = await db.call(db.store.add_event, session, event, verdict, event["ts"])
        escapes = any(r.get("rule") == ESCAPE_RULE for r in verdict.get("reasons", []))
        # Codex asks for approval exactly when a call is to run outside its own sandbox
        # (and leaves `sandbox_permissions` out of the payload), so its PermissionRequest
        # is always residue.
        escapes = escapes or (
            agent == "codex" and payload["hook_event_name"] == "PermissionRequest"
        )
        decision: str | None
        scope, batch = "once", None
        hook = payload["hook_event_name"]
        if verdict.get("band") == "low" and not escapes:
            if not sandboxed:
                return {"hook": hook, "decision": None, "reason": "low risk", "verdict": verdict}
            decision, by = "allow", "sandbox"
            reason = f"Sandgate: low risk inside the sandbox ({verdict.get('signature')})"
        else:
            answer = await self.queue.ask(session, workspace, event, verdict, self.timeout)
            decision = "allow" if answer.allow else "deny"
            by = "user" if answer.by == "person" else answer.by
            scope, batch = answer.scope or "once", answer.batch
            reason = f"Sandgate: {answer.reason}" + (f" (batch {batch})" if batch else "")
        await db.call(db.store.add_decision, decision, scope, by, events_=[row], batch=batch)
        return {"hook": hook, "decision": decision, "reason": reason, "verdict": verdict}

    async def _outside_session(
        self, agent: str, payload: dict[str, Any], request: Request
    ) -> tuple[str, str]:
        """The Sandgate session standing for an agent session outside any sandbox."""
        key = (agent, str(payload.get("session_id") or "-"))
        async with self._opening:  # two hooks of a new agent session at once make one
            known = self.outside.get(key)
            if known is not None:
                return known
            cwd = payload.get("cwd")
            workspace = cwd if isinstance(cwd, str) and cwd.startswith("/") else "/"
            home = get(request, "home", str, str(Path.home()))
            session = secrets.token_hex(6)
            db = self.parts.db
            await db.call(db.store.open_session, session, workspace, [agent], agent=agent)
            start = {
                "id": f"{session}-start",
                "session": session,
                "kind": "session.start",
                "workspace": workspace,
                "home": home,
                "ts": time.time(),
            }
            verdict = self.parts.triage.score_dict(start).to_dict()
            await db.call(db.store.add_event, session, start, verdict, start["ts"])
            self.outside[key] = (session, workspace)
            return session, workspace


def _agent_payload(request: Request) -> tuple[str, dict[str, Any]]:
    agent = get(request, "agent", str)
    if agent not in AGENTS:
        raise RequestError(f"tool.ask: agent must be one of {', '.join(AGENTS)}")
    payload = get(request, "payload", dict)
    event = payload.get("hook_event_name")
    if event not in HOOK_EVENTS:
        raise RequestError(f"sandgate answers {' and '.join(HOOK_EVENTS)} hooks, not {event!r}")
    return agent, payload


async def install(parts: Parts) -> None:
    """The service extension: `tool.ask`, and a channel for every sandboxed session."""
    queue = getattr(parts, "queue", None)
    if queue is None:  # a build without the decision queue cannot hold residue
        return
    Hooks(parts, queue).install()
