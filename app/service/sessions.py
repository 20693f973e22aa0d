"""Sessions: open a sandbox, watch its decoys and memory files, triage and record events.

The operations `session.open`, `session.event`, `session.close`, `memory.accept` and
`history` live here. Database calls go through `Database` (its own thread); policy
loading and plan building run in the default executor, since they write decoy files.
Triage is pure and quick, so it runs on the loop, which also keeps its per-session
state single-threaded.

Other parts of the service (the egress proxy) join in two ways: `record()` triages and
stores an event of a session, and a `SessionHook` is told when a session opens (and may
return the network plan for it) and when it closes.
"""

from __future__ import annotations

import asyncio
import functools
import secrets
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from app.paths import Paths
from app.service.changes import Changes
from app.service.database import Database
from app.service.record_health import problem
from app.service.sandboxing import Decoy, OpenRequest, Prepared, SandboxPort
from app.service.server import Request, RequestError, Service, current_connection
from app.service.server import field as get
from app.service.store import BANDS
from app.service.watchers import Watchers
from sandbox.memory import MAX_BYTES, memory_diff

if TYPE_CHECKING:
    from app.service.review import Review

MEMORY_SETTLE = 0.2  # seconds a memory file must be quiet before its diff is taken


class SessionHook(Protocol):
    async def opening(self, session: str, workspace: Path, policy: Any) -> Any:
        """Called before the plan is built; may return a `NetworkPlan` (or None)."""

    async def closing(self, session: str) -> None:
        """Called when the session closes."""

    def bound(self, session: str) -> dict[str, str]:
        """Domain → placeholder this hook gave the session (its `session.start` `bound`)."""


@dataclass
class Live:
    """A session between open and close."""

    id: str
    workspace: Path
    prepared: Prepared
    memory: dict[Path, str]  # last recorded text of each existing memory file
    info: dict[str, Any] = field(default_factory=dict)  # as `sessions` lists it
    tasks: set[asyncio.Task[Any]] = field(default_factory=set)
    settling: dict[Path, asyncio.TimerHandle] = field(default_factory=dict)
    connection: Any = None  # the connection that opened it


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

    def supplied(self, session: str) -> dict[str, str]:
        """Credential name → secret the opener of `session` supplied (usually none)."""
        return dict(self._supplied.get(session, {}))

    def install(self, service: Service) -> None:
        service.register("session.open", self.open)
        service.register("session.event", self.event)
        service.register("session.close", self.close)
        service.register("memory.accept", self.memory_accept)
        service.register("history", self.history)
        service.register("sessions", self._op_sessions)
        self.changes.provide("sessions", self.listing)

    async def listing(self, session: str | None = None) -> list[dict[str, Any]]:
        """The open sessions (only `session`, if given), oldest first."""
        return [
            dict(live.info)
            for live in self.live.values()
            if live.info and (session is None or live.id == session)
        ]

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
            await self.record(
                session,
                {
                    "kind": "session.start",
                    "workspace": str(workspace),
                    "home": str(home),
                    "canaries": [d.canary for d in prepared.decoys],
                    "bound": {d: p for h in self.hooks for d, p in h.bound(session).items()},
                    # The agent's own login (app.service.egress): placeholders and files.
                    **{k: v for h in self.hooks for k, v in _start_context(h, session).items()},
                },
            )
        except Exception as exc:  # a session that cannot be recorded does not start
            for hook in self.hooks:
                await hook.closing(session)
            shutil.rmtree(session_dir, ignore_errors=True)
            if isinstance(exc, RequestError):
                raise
            why = f"cannot record to {self.paths.database} ({problem(exc)})"
            raise RequestError(f"{why}: the session is not started") from exc
        texts = {p: _read(p) for p in prepared.memory_files}
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
            self.watchers.watch(session, decoy.host, self._on_decoy(live, decoy))
        for path in prepared.memory_files:
            self.watchers.watch(session, path, self._on_memory(live, path))
        for path in prepared.settings_files:
            self.watchers.watch(session, path, self._on_memory(live, path, self._settings_changed))

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
            await self._memory_changed(live, path)
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
        held = await self._quarantine(live, changed)
        await self._reviews(live, reviews)
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

    async def history(self, request: Request) -> dict[str, Any]:
        band = get(request, "band", str, None)
        if band is not None and band.rstrip("+") not in BANDS:
            raise RequestError(f"history: band must be one of {', '.join(BANDS)}")
        rows = await self.db.call(
            self.db.store.history,
            session=get(request, "session", str, None),
            bands=bands_for(band),
            since=get(request, "since", (int, float), None),
            limit=get(request, "limit", int, None),
        )
        return {"rows": [r.to_dict() for r in rows]}

    # watches ----------------------------------------------------------------------------

    def _on_decoy(self, live: Live, decoy: Decoy) -> Any:
        def opened(event_type: str) -> None:
            if event_type == "opened":
                event = {"kind": "file.read", "path": decoy.shown, "decoy": decoy.credential}
                self._spawn(live, self.record(live.id, event))

        return opened

    def _on_memory(self, live: Live, path: Path, then: Any = None) -> Any:
        def changed(event_type: str) -> None:
            if event_type in ("opened", "closed_no_write"):
                return  # our own reads, and the agent's
            previous = live.settling.pop(path, None)
            if previous is not None:
                previous.cancel()
            live.settling[path] = asyncio.get_running_loop().call_later(
                MEMORY_SETTLE, self._settled, live, path, then
            )

        return changed

    def _settled(self, live: Live, path: Path, then: Any = None) -> None:
        live.settling.pop(path, None)
        self._spawn(live, (then or self._memory_changed)(live, path))

    async def _settings_changed(self, live: Live, path: Path) -> None:
        """An agent settings file written in place: its dangerous change is held now."""
        loop = asyncio.get_running_loop()
        held = self.paths.state / "held-settings"
        items = await loop.run_in_executor(
            None, self.sandbox.settle_settings, live.prepared, path, held
        )
        await self._reviews(live, items)

    async def _reviews(self, live: Live, items: Sequence[tuple[Path, str]]) -> None:
        """Record held settings changes like memory-file changes (sandbox/agent_settings.py)."""
        for path, diff in items:
            await self.record(live.id, {"kind": "memory.write", "path": str(path), "diff": diff})
            await self.db.call(
                self.db.store.add_memory_change, str(live.workspace), str(path), diff, live.id
            )

    async def _memory_changed(self, live: Live, path: Path) -> None:
        old, new = live.memory.get(path), _read(path)
        if old == new:
            return
        if new is None:
            live.memory.pop(path, None)
        else:
            live.memory[path] = new
        diff = memory_diff({} if old is None else {path: old}, {} if new is None else {path: new})
        await self.record(live.id, {"kind": "memory.write", "path": str(path), "diff": diff})
        change = await self.db.call(
            self.db.store.add_memory_change, str(live.workspace), str(path), diff, live.id
        )
        if self.review is not None:
            await self.review.memory_added(change)

    def _spawn(self, live: Live, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        live.tasks.add(task)
        task.add_done_callback(live.tasks.discard)

    # quarantine -------------------------------------------------------------------------

    async def _quarantine(self, live: Live, files: Sequence[Path]) -> list[str]:
        """Move protected files the session made out of the workspace; record each."""
        if not files:
            return []
        loop = asyncio.get_running_loop()
        folder = self.paths.quarantine / live.id
        held = await loop.run_in_executor(None, self.sandbox.hold, files, live.workspace, folder)
        for original, stored in held:
            key = await self.db.call(
                self.db.store.add_quarantined,
                live.id,
                str(live.workspace),
                str(original),
                str(stored),
            )
            event = {"kind": "file.write", "path": str(original), "quarantined": str(stored)}
            await self.record(live.id, event)
            if self.review is not None:
                await self.review.quarantined_added(key)
        return [str(original) for original, _ in held]


def _start_context(hook: SessionHook, session: str) -> dict[str, Any]:
    context = getattr(hook, "start_context", None)
    return dict(context(session)) if context is not None else {}


def bands_for(band: str | None) -> list[str] | None:
    """`high` means that band only; `high+` means high and above."""
    if band is None:
        return None
    if band.endswith("+"):
        return list(BANDS[BANDS.index(band[:-1]) :])
    return [band]


def _read(path: Path) -> str | None:
    """The text of a memory file (cut at MAX_BYTES), or None if there is none."""
    try:
        with open(path, "rb") as handle:
            return handle.read(MAX_BYTES).decode("utf-8", errors="replace")
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None
