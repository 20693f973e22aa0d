"""Sessions: open a sandbox, watch its decoys and memory files, triage and record events.

The operations `session.open`, `session.event`, `session.close` and `memory.accept` live
here; what a session's files do (decoys, memory and settings files, quarantine) is
`session_files.py`, the `history` operation `history_op.py`. Database calls go
through `Database` (its own thread); policy loading and plan building run in the
default executor, since they write decoy files. Triage is pure and quick, so it runs on
the loop, which also keeps its per-session state single-threaded.

Other parts of the service (the egress proxy) join in two ways: `record()` triages and
stores an event of a session, and a `SessionHook` is told when a session opens (and may
return the network plan for it) and when it closes.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import secrets
import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy.exc import DBAPIError

from app.paths import Paths
from app.service.backends import reason, shown
from app.service.changes import Changes
from app.service.database import Database
from app.service.history_op import HistoryOp
from app.service.live import Live
from app.service.sandboxing import OpenRequest, Prepared, SandboxPort
from app.service.server import Request, RequestError, Service, current_connection
from app.service.server import field as get
from app.service.session_files import SessionFiles, read_memory
from app.service.watchers import Watchers

if TYPE_CHECKING:
    from app.service.review import Review


class SessionHook(Protocol):
    async def opening(self, session: str, workspace: Path, policy: Any) -> Any:
        """Called before the plan is built; may return a `NetworkPlan` (or None)."""

    async def closing(self, session: str) -> None:
        """Called when the session closes."""

    def bound(self, session: str) -> dict[str, str]:
        """Domain → placeholder this hook gave the session (its `session.start` `bound`)."""


class Sessions:
    """The session operations of the service."""

    def __init__(
        self,
        paths: Paths,
        db: Database,
        triage: Any,
        watchers: Watchers,
        sandbox: SandboxPort,
        changes: Changes | None = None,
        review: Review | None = None,
    ) -> None:
        self.paths = paths
        self.changes = changes or Changes()
        self.review = review
        self.db = db
        self.triage = triage
        self.watchers = watchers
        self.sandbox = sandbox
        self.hooks: list[SessionHook] = []
        self.live: dict[str, Live] = {}
        # The request of each session being opened, for hooks that need the caller's
        # home and environment (the agent's own login: its files and its API key).
        self.opening: dict[str, OpenRequest] = {}
        self.finishing: set[asyncio.Task[list[str]]] = set()
        # Secrets a caller supplied in memory for its session's bound credentials
        # (`session.open`'s `secrets`), kept only while the session opens: hooks read
        # them with `supplied(session)` instead of the keyring.
        self._supplied: dict[str, dict[str, str]] = {}
        self.files = SessionFiles(self)

    def supplied(self, session: str) -> dict[str, str]:
        """Credential name → secret the opener of `session` supplied (usually none)."""
        return dict(self._supplied.get(session, {}))

    def install(self, service: Service) -> None:
        service.register("session.open", self.open)
        service.register("session.event", self.event)
        service.register("session.close", self.close)
        service.register("memory.accept", self.memory_accept)
        HistoryOp(self.db).install(service)
        service.register("sessions", self._op_sessions)
        self.changes.provide("sessions", self.listing)

    async def listing(self, session: str | None = None) -> list[dict[str, Any]]:
        """The open sessions (only `session`, if given), oldest first."""
        return [
            dict(live.info)
            for live in self.live.values()
            if live.info and (session is None or live.id == session)
        ]

    def _start_event(
        self, session: str, workspace: Path, home: Path, prepared: Prepared
    ) -> dict[str, Any]:
        """The `session.start` event: where the session runs, its canaries and bindings."""
        return {
            "kind": "session.start",
            "workspace": str(workspace),
            "home": str(home),
            "canaries": [d.canary for d in prepared.decoys],
            "bound": {d: p for hook in self.hooks for d, p in hook.bound(session).items()},
            # The agent's own login (app.service.egress): placeholders and files.
            **{k: v for h in self.hooks for k, v in _start_context(h, session).items()},
        }

    async def _op_sessions(self, request: Request) -> dict[str, Any]:
        return {"sessions": await self.listing(get(request, "session", str, None))}

    # recording --------------------------------------------------------------------------

    async def record(self, session: str, event: dict[str, Any]) -> dict[str, Any]:
        """Triage one event of `session`, store it with its verdict, return the verdict."""
        event = {**event, "session": session}
        event.setdefault("id", f"{session}-{secrets.token_hex(4)}")
        event.setdefault("ts", time.time())
        verdict = self.triage.score_dict(event).to_dict()
        if verdict.get("error"):
            raise RequestError(f"bad event: {verdict['error']}")
        row = await self.db.call(self.db.store.add_event, session, event, verdict, event["ts"])
        if self.review is not None:
            await self.review.event_recorded(row, event, verdict)
        return dict(verdict)

    # operations -------------------------------------------------------------------------

    async def open(self, request: Request) -> dict[str, Any]:
        workspace = Path(get(request, "workspace", str))
        if not workspace.is_absolute() or not workspace.is_dir():
            raise RequestError(f"workspace {workspace} is not an existing absolute folder")
        workspace = workspace.resolve()
        command = get(request, "command", list)
        if not command or not all(isinstance(a, str) for a in command):
            raise RequestError("session.open: 'command' must be a non-empty list of strings")
        env = get(request, "env", dict, {})
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in env.items()):
            raise RequestError("session.open: 'env' must map strings to strings")
        policy_file = get(request, "policy_file", str, None)
        supplied = get(request, "secrets", dict, {})
        if not all(isinstance(k, str) and isinstance(v, str) and v for k, v in supplied.items()):
            raise RequestError("session.open: 'secrets' must map credential names to secrets")
        session = secrets.token_hex(6)
        session_dir = self.paths.sessions / session
        session_dir.mkdir(mode=0o700, parents=True)
        home = Path(env.get("HOME") or Path.home())
        opening = OpenRequest(
            session=session,
            workspace=workspace,
            home=home,
            session_dir=session_dir,
            command=tuple(command),
            env=env,
            profile=get(request, "profile", str, None),
            policy_file=Path(policy_file) if policy_file else None,
            tty=get(request, "tty", bool, False),
        )
        loop = asyncio.get_running_loop()
        try:
            policy = await loop.run_in_executor(None, self.sandbox.load_policy, opening)
        except ValueError as exc:  # PolicyError is one: its message names file and line
            shutil.rmtree(session_dir, ignore_errors=True)
            raise RequestError(str(exc)) from exc
        network = None
        self._supplied[session] = supplied
        self.opening[session] = opening
        try:
            for hook in self.hooks:
                network = await hook.opening(session, workspace, policy) or network
            prepared = await loop.run_in_executor(
                None, self.sandbox.prepare, opening, policy, network
            )
        except BaseException as exc:
            for hook in self.hooks:  # a proxy session opened for this one must not linger
                await hook.closing(session)
            shutil.rmtree(session_dir, ignore_errors=True)
            if isinstance(exc, Exception):  # PlanError: the workspace is unusable, …
                raise RequestError(f"cannot prepare the sandbox: {exc}") from exc
            raise
        finally:
            self._supplied.pop(session, None)
            self.opening.pop(session, None)

        started = time.time()
        agent = get(request, "agent", str, None)
        try:
            await self.db.call(
                self.db.store.open_session,
                session,
                str(workspace),
                command,
                agent=agent,
                profile=opening.profile,
                started=started,
            )
            await self.record(session, self._start_event(session, workspace, home, prepared))
        except Exception as exc:  # a session that cannot be recorded does not start
            for hook in self.hooks:
                await hook.closing(session)
            shutil.rmtree(session_dir, ignore_errors=True)
            if isinstance(exc, RequestError):
                raise
            with contextlib.suppress(DBAPIError):
                await self.db.call(self.db.store.end_session, session, None)
            raise RequestError(
                f"the database {shown(self.db.store.at)} cannot record this session "
                f"({reason(exc)}), so it does not start"
            ) from None
        texts = {p: read_memory(p) for p in prepared.memory_files}
        live = Live(session, workspace, prepared, {p: t for p, t in texts.items() if t is not None})
        live.info = {
            "session": session,
            "agent": agent,
            "workspace": str(workspace),
            "command": list(command),
            "profile": opening.profile,
            "started": started,
            "network": network is not None,
        }
        self.live[session] = live
        self.changes.publish("session.opened", {"session": live.info}, [session])
        for decoy in prepared.decoys:
            self.watchers.watch(session, decoy.host, self.files.on_decoy(live, decoy))
        for path in prepared.memory_files:
            self.watchers.watch(session, path, self.files.on_memory(live, path))
        for path in prepared.settings_files:
            self.watchers.watch(
                session, path, self.files.on_memory(live, path, self.files.settings_changed)
            )

        # A caller that goes away without closing (killed, crashed) closes its session.
        connection = current_connection.get(None)
        live.connection = connection
        if connection is not None:
            connection.on_close(functools.partial(self._abandoned, session))

        review = await self.db.call(self.db.store.unreviewed_memory, str(workspace))
        notice = list(prepared.notices)
        if prepared.decoys:
            notice.append(
                f"sandgate: session {session}: {len(prepared.decoys)} credential location(s) "
                "hold decoys"
            )
        return {
            "session": session,
            "argv": list(prepared.argv),
            "env": dict(prepared.env),
            "memory_review": [m.to_dict() for m in review],
            "notice": notice,
            "network": network is not None,
        }

    async def event(self, request: Request) -> dict[str, Any]:
        session = get(request, "session", str)
        event = get(request, "event", dict)
        if session not in self.live:
            raise RequestError(f"no open session {session!r}")
        if event.get("kind") == "session.start":
            raise RequestError("session.start is the service's to send")
        return {"verdict": await self.record(session, event)}

    async def close(self, request: Request) -> dict[str, Any]:
        session = get(request, "session", str)
        exit_code = get(request, "exit_code", int, None)
        live = self.live.pop(session, None)
        if live is None:
            raise RequestError(f"no open session {session!r}")
        return {"quarantined": await self._closing(live, exit_code)}

    async def _abandoned(self, session: str) -> None:
        live = self.live.pop(session, None)
        if live is not None:
            await self._closing(live, None)

    async def close_all(self) -> None:
        """Close every open session and wait for closes under way (the service stops)."""
        for session in list(self.live):
            self._closing(self.live.pop(session), None)
        if self.finishing:
            await asyncio.gather(*self.finishing, return_exceptions=True)

    def _closing(self, live: Live, exit_code: int | None) -> asyncio.Task[list[str]]:
        """Finish `live` in a task of its own: a caller that goes away (or is cancelled)
        does not leave a session half closed, and `close_all` can wait for it."""
        task = asyncio.ensure_future(self._finish(live, exit_code))
        self.finishing.add(task)
        task.add_done_callback(self.finishing.discard)
        return task

    async def _finish(self, live: Live, exit_code: int | None) -> list[str]:
        """Stop watching, record late changes, hold protected files, forget the decoys."""
        session = live.id
        # A decoy read just before the agent exited may still be on watchdog's thread.
        await self.watchers.flush(session, {d.host.parent for d in live.prepared.decoys})
        self.watchers.unwatch(session)
        for handle in live.settling.values():
            handle.cancel()
        for path in live.prepared.memory_files:  # catch what the watches could not see
            await self.files.memory_changed(live, path)
        if live.tasks:
            await asyncio.gather(*live.tasks, return_exceptions=True)
        for hook in self.hooks:
            await hook.closing(session)
        loop = asyncio.get_running_loop()
        changed = await loop.run_in_executor(
            None, self.sandbox.protected_changes, live.prepared, live.workspace
        )
        changed, reviews = await loop.run_in_executor(
            None,
            self.sandbox.review_changes,
            live.prepared,
            changed,
            self.paths.state / "held-settings",
        )
        held = await self.files.quarantine(live, changed)
        await self.files.reviews(live, reviews)
        await self.db.call(self.db.store.end_session, session, exit_code)
        closed = {"session": session, "exit_code": exit_code}
        self.changes.publish("session.closed", closed, [session])
        await loop.run_in_executor(None, shutil.rmtree, self.paths.sessions / session, True)
        self.triage.forget(session)
        return held

    async def apply_held_settings(self, files: list[Path]) -> Any:
        """Put held agent-settings changes of `files` in place (accepted by a person)."""
        loop = asyncio.get_running_loop()
        held = self.paths.state / "held-settings"
        return await loop.run_in_executor(None, self.sandbox.accept_settings, files, held)

    async def memory_accept(self, request: Request) -> dict[str, Any]:
        workspace = str(Path(get(request, "workspace", str)).resolve())
        # Held settings changes are applied, and the caller's own session, opened but not
        # started, is shown them.
        rows = await self.db.call(self.db.store.unreviewed_memory, workspace)
        applied = await self.apply_held_settings([Path(r.path) for r in rows])
        if applied:
            loop = asyncio.get_running_loop()
            connection = current_connection.get(None)
            for live in self.live.values():
                if str(live.workspace) == workspace and live.connection is connection:
                    await loop.run_in_executor(
                        None, self.sandbox.restage_settings, live.prepared, applied
                    )
        accepted = await self.db.call(self.db.store.accept_memory, workspace)
        if self.review is not None:
            for change in rows:
                self.review.resolved(f"memory:{change.id}", "accept", change.session)
        return {"accepted": accepted}


def _start_context(hook: SessionHook, session: str) -> dict[str, Any]:
    context = getattr(hook, "start_context", None)
    return dict(context(session)) if context is not None else {}
