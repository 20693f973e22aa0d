"""A real service on a temporary socket, and requests held in its real queue.

The service is the real one (socket, store, queue, change stream); only the sandbox
and triage sides are the stand-ins of tests/service/conftest.py, so a test can hold a
request of the band it needs by handing the queue a verdict, as the egress proxy does.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from app.client import Client, connect
from app.paths import Paths
from app.service.runtime import ServiceThread, start_in_thread
from tests.service.conftest import FakeSandbox, FakeTriage

SCORES = {"low": 10, "medium": 30, "high": 60, "critical": 95}


def verdict(band: str, signature: str, rule: str = "egress.unknown", why: str = "") -> dict:
    score = SCORES[band]
    why = why or "a destination no rule names"
    return {
        "score": score,
        "band": band,
        "reasons": [{"rule": rule, "points": score, "why": why}],
        "signature": signature,
    }


@dataclass
class Service:
    """The running service and what the test holds in its queue."""

    paths: Paths
    thread: ServiceThread
    workspace: Path
    held: list[Future[Any]] = field(default_factory=list)
    sessions: list[Client] = field(default_factory=list)
    _n: int = 0

    @property
    def queue(self) -> Any:
        assert self.thread.runtime is not None
        return self.thread.runtime.parts.queue

    def open_session(self, agent: str = "claude-code") -> str:
        """A real session on the socket (kept open until the test ends)."""
        client = connect(self.paths)
        assert client is not None
        opened = client.request(
            "session.open",
            workspace=str(self.workspace),
            command=["claude"],
            env={"HOME": str(self.workspace.parent)},
            agent=agent,
        )
        self.sessions.append(client)
        return str(opened["session"])

    def hold(
        self,
        session: str,
        band: str,
        url: str,
        *,
        method: str = "GET",
        signature: str | None = None,
        rule: str = "egress.unknown",
        why: str = "",
        timeout: float = 60,
    ) -> Future[Any]:
        """Hold one request in the real queue, as the egress proxy does for a session."""
        self._n += 1
        from urllib.parse import urlsplit

        host = urlsplit(url).hostname
        event = {"id": f"t{self._n}", "kind": "net.request", "method": method, "url": url}
        sig = signature or f"net.request {method} {host} [{band}]"
        loop = self.thread._loop
        assert loop is not None
        held = asyncio.run_coroutine_threadsafe(
            self.queue.ask(
                session, str(self.workspace), event, verdict(band, sig, rule, why), timeout=timeout
            ),
            loop,
        )
        self.held.append(held)
        return held

    def stop(self) -> None:
        for client in self.sessions:
            client.close()
        self.sessions.clear()
        self.thread.stop()


@pytest.fixture
def short_runtime(isolated_env: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A short runtime folder: sockets must fit AF_UNIX's 108 bytes."""
    runtime = Path(tempfile.mkdtemp(prefix="sgui"))
    runtime.chmod(0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    yield runtime
    shutil.rmtree(runtime, ignore_errors=True)


@pytest.fixture
def paths(short_runtime: Path) -> Paths:
    return Paths.from_environment().ensure()


@pytest.fixture
def service(paths: Paths, tmp_path: Path) -> Iterator[Service]:
    workspace = tmp_path / "project"
    workspace.mkdir()
    thread = start_in_thread(paths, sandbox=FakeSandbox(), triage=FakeTriage())
    running = Service(paths, thread, workspace)
    yield running
    running.stop()


@pytest.fixture
def tray_app(service: Service, qtbot: Any) -> Iterator[Any]:
    """The tray's parts over the running service, without a system tray (offscreen)."""
    from app.ui.app import build

    app = build(service.paths, use_tray=False)
    qtbot.addWidget(app.window)
    qtbot.waitUntil(lambda: app.inbox.state.connected, timeout=5000)
    yield app
    app.bridge.stop()
    app.server.close()
    app.notifier.close()


def select(app: Any, qtbot: Any, key: str) -> None:
    """Put the inbox item `key` on screen and wait until it is shown."""
    qtbot.waitUntil(lambda: app.window.list_model.row_of(key) >= 0, timeout=5000)
    app.window.list.selectRow(app.window.list_model.row_of(key))
    qtbot.waitUntil(lambda: app.inbox.key == key, timeout=2000)


def batch_of(service: Service, url_part: str) -> str:
    """The id of the batch whose member's URL holds `url_part`."""
    for batch in service.queue.listing():
        if any(url_part in m["summary"] for m in batch["members"]):
            return str(batch["batch"])
    raise AssertionError(f"no batch holds {url_part!r}")


@pytest.fixture(autouse=True)
def _collect_qt_garbage(qapp: Any) -> Iterator[None]:
    """Qt objects a test leaves behind die before the next test, while the application
    is alive: left to the interpreter's final collection, PySide6 aborts the whole run
    ("bool_dealloc: deallocating True or False") after every test has passed."""
    yield
    import gc

    from PySide6.QtCore import QCoreApplication, QEvent

    for widget in qapp.topLevelWidgets():
        widget.close()
        widget.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    gc.collect()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
