"""Start and stop the whole service: lock, store, triage, watches, sessions, socket.

`start()` assembles the parts in order and returns a `Runtime` that stops them in
reverse. `run_foreground()` is `sandgate service`; `start_in_thread()` is what
`sandgate run` uses when no service is running. Paths and resources are passed in.
"""

from __future__ import annotations

import asyncio
import shutil
import signal
import sys
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.paths import Paths
from app.service.backends import DatabaseAt, DatabaseUnreachable, shown
from app.service.changes import Changes
from app.service.database import Database
from app.service.instance import AlreadyRunning, InstanceLock
from app.service.integrity import DatabaseDamaged, ensure_usable
from app.service.migrations import SchemaTooNew
from app.service.parts import Parts
from app.service.review import Review
from app.service.sandboxing import SandboxAdapter, SandboxPort
from app.service.server import Service
from app.service.sessions import Sessions
from app.service.store import Store
from app.service.watchers import Watchers
from app.settings import RETENTION_DAYS, Settings, SettingsError, load_settings

__all__ = [
    "REFUSALS",
    "RETENTION_DAYS",
    "AlreadyRunning",
    "Parts",
    "Runtime",
    "run_foreground",
    "start",
    "start_in_thread",
]

# Why a service may refuse to start, each said in one sentence: no session runs while
# its actions could not be recorded.
REFUSALS = (SchemaTooNew, DatabaseDamaged, DatabaseUnreachable, SettingsError)

# A part of the service beyond sessions and the store: given the parts, it registers its
# operations and session hooks.
Extension = Callable[[Parts], Awaitable[None]]


async def install_decisions(parts: Parts) -> None:
    """The decision queue, the egress proxy that feeds it, the permission hooks that
    hold tool calls in it, and (on macOS) the system log's sandbox refusals: composed
    here, in one place, in this order."""
    from app.service.egress import install_egress
    from app.service.hooks import install as install_hooks
    from app.service.queue_ops import install_queue
    from app.service.system_log import install_system_log

    queue = install_queue(parts)
    queue.number_after(await parts.db.call(parts.db.store.last_batch))
    await install_egress(parts, queue)
    await install_hooks(parts)
    await install_system_log(parts)


EXTENSIONS: tuple[Extension, ...] = (install_decisions,)


@dataclass
class Runtime:
    parts: Parts
    watchers: Watchers
    lock: InstanceLock
    pruned: int
    database: DatabaseAt

    async def stop(self) -> None:
        """Stop listening, close open sessions, then the extensions, the watches, the
        database, the lock."""
        await self.parts.service.stop()
        await self.parts.sessions.close_all()
        for stopper in reversed(self.parts.on_stop):
            await stopper()
        self.watchers.stop()
        self.parts.db.close()
        self.lock.release()


OPEN_FILES_WANTED = 65536


def raise_open_file_limit(wanted: int = OPEN_FILES_WANTED) -> int:
    """Raise this process's soft limit on open files towards its hard limit; return the
    limit now in force. Every proxied connection costs descriptors, and the control
    socket needs some whatever the sandboxes do (a desktop's default soft limit is 1024)."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    return int(soft)


def default_triage(resources: Path) -> Any:
    from triage.catalogues import load_catalogues
    from triage.engine import Triage

    return Triage(load_catalogues(resources / "catalogues"))


async def start(
    paths: Paths,
    *,
    resources: Path | None = None,
    settings: Settings | None = None,
    retention_days: float | None = None,
    sandbox: SandboxPort | None = None,
    triage: Any = None,
    extensions: tuple[Extension, ...] = EXTENSIONS,
) -> Runtime:
    """Start a service for `paths`; raise AlreadyRunning if this user has one, or one of
    REFUSALS when its store cannot be used. `settings` default to the user's config.yaml
    (`app/settings.py`); `retention_days` given here wins over theirs."""
    if settings is None:
        settings = load_settings(paths)
    if retention_days is None:
        retention_days = settings.retention_days
    database = settings.database(paths)
    if resources is None:
        from resources import resources_dir

        resources = resources_dir()
    if triage is None:
        triage = default_triage(resources)
    paths.ensure()
    raise_open_file_limit()
    # Start-up runs on the loop before anything is served, so the store is opened and
    # pruned here directly; afterwards every database call goes through `Database`.
    lock = InstanceLock(paths.runtime / "service.lock")
    try:
        # Session folders (decoys) of a service that did not stop cleanly: no session
        # outlives its service.
        for leftover in paths.sessions.iterdir():
            shutil.rmtree(leftover, ignore_errors=True)
        if isinstance(database, Path):  # a server keeps its own data safe
            for line in ensure_usable(database):
                print(f"sandgate: {line}", file=sys.stderr, flush=True)
        store = Store(database)
        store.end_stale_sessions()
        pruned = store.prune(retention_days)
        db = Database(store)
    except BaseException:
        lock.release()
        raise
    watchers = Watchers(asyncio.get_running_loop())
    service = Service(paths.socket)
    changes = Changes()
    review = Review(db, changes)
    sessions = Sessions(
        paths,
        db,
        triage,
        watchers,
        sandbox
        or SandboxAdapter(
            resources / "policy" / "default.yaml",
            paths.user_policy,
            private_paths=(paths.config, paths.data, paths.state, paths.runtime),
        ),
        changes,
        review,
    )
    sessions.install(service)
    review.install(service)
    review.apply_held = sessions.apply_held_settings
    changes.install(service)
    parts = Parts(paths, service, sessions, db, sessions.triage, changes, review)
    runtime = Runtime(parts, watchers, lock, pruned, database)
    try:
        for install in extensions:
            await install(parts)
        await service.start()
    except BaseException:
        await runtime.stop()
        raise
    return runtime


def open_sessions(runtime: Runtime) -> int:
    """How many sessions are open on `runtime`. A session being closed counts until its
    close is done: its caller still waits for the answer."""
    sessions = runtime.parts.sessions
    return len(sessions.live) + len(sessions.finishing)


def busy(runtime: Runtime) -> bool:
    """A session is open (or closing), or something watches the service."""
    return bool(open_sessions(runtime) or runtime.parts.changes.watchers)


async def stop_when_idle(runtime: Runtime, idle: float, stop: asyncio.Event) -> None:
    """Set `stop` once the service has not been `busy` for `idle` seconds."""
    loop = asyncio.get_running_loop()
    since = loop.time()
    while not stop.is_set():
        await asyncio.sleep(min(0.5, idle / 4))
        if busy(runtime):
            since = loop.time()
        elif loop.time() - since >= idle:
            print(f"sandgate: no session and no tray for {idle:g} s: stopping", flush=True)
            stop.set()


def run_foreground(
    paths: Paths,
    retention_days: float | None = None,
    settings: Settings | None = None,
    until_idle: float | None = None,
) -> int:
    """Serve until SIGINT or SIGTERM (or, with `until_idle`, until nothing has used it
    for that many seconds). 1 if another service of this user already runs, or its
    store cannot be used."""

    async def main() -> int:
        # Handlers first: a SIGTERM while the service starts (its socket may already
        # answer) must stop it cleanly, not kill it half-started.
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            runtime = await start(paths, settings=settings, retention_days=retention_days)
        except (AlreadyRunning, *REFUSALS) as exc:
            print(f"sandgate: {exc}", file=sys.stderr)
            return 1
        print(f"sandgate: service listening on {paths.socket}", flush=True)
        print(f"sandgate: database {shown(runtime.database)}", flush=True)
        idle = None
        if until_idle is not None:
            idle = asyncio.create_task(stop_when_idle(runtime, until_idle, stop))
        await stop.wait()
        if idle is not None:
            idle.cancel()
        await runtime.stop()
        return 0

    return asyncio.run(main())


class ServiceThread:
    """A service running on its own event loop in a daemon thread of this process."""

    def __init__(self, paths: Paths, **options: Any) -> None:
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self.runtime: Runtime | None = None
        self._thread = threading.Thread(
            target=lambda: asyncio.run(self._main(paths, options)),
            name="sandgate-service",
            daemon=True,
        )
        self._thread.start()
        self._ready.wait()
        if self._error is not None:
            raise self._error

    async def _main(self, paths: Paths, options: dict[str, Any]) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        try:
            self.runtime = await start(paths, **options)
        except BaseException as exc:
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        await self._stop.wait()
        await self.runtime.stop()

    def submit(self, coro: Any) -> Any:
        """Run `coro` on the service's loop from another thread; a concurrent Future."""
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self._loop)

    def open_sessions(self) -> int:
        """How many sessions are open on this service (its own caller's included)."""
        return 0 if self.runtime is None else open_sessions(self.runtime)

    def stop(self) -> None:
        """Stop the service and wait for its thread."""
        if self._loop is not None and self._stop is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=10)


def start_in_thread(paths: Paths, **options: Any) -> ServiceThread:
    """Start a service inside this process; raises AlreadyRunning like `start`."""
    return ServiceThread(paths, **options)
