"""Test-wide settings. Every test owns its files; nothing touches the real home."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# Programs the real-thing tests drive. Locally a missing one skips those tests; in CI
# (CI=true, set by the runner) it is an error, so a skip can never hide a missing
# install step in tests/run.sh.
REQUIRED_PROGRAMS = ("bwrap", "socat", "curl", "git", "node")


_EXIT_STATUS: list[int] = []


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    _EXIT_STATUS.append(int(exitstatus))


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    """Once everything is reported, a run that loaded PySide6 ends without the
    interpreter's last collection: PySide6 can abort there ("bool_dealloc", see
    app/commands/leave.py), which would turn a green run into a crash. The tray and the
    history window end the same way."""
    import sys

    if "PySide6" in sys.modules and _EXIT_STATUS:
        from app.commands.leave import leave

        leave(_EXIT_STATUS[-1])


def pytest_configure(config: pytest.Config) -> None:
    import shutil

    missing = [name for name in REQUIRED_PROGRAMS if shutil.which(name) is None]
    if missing and os.environ.get("CI") == "true":
        raise pytest.UsageError(
            f"CI lacks {', '.join(missing)}: packaging/install.sh should have installed them"
        )


@pytest.fixture
def resources() -> Path:
    """The shipped resources folder."""
    from resources import resources_dir

    return resources_dir()


@pytest.fixture
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private HOME and XDG tree for one test, so that platformdirs resolves inside it."""
    home = tmp_path / "home"
    for sub in ("", ".config", ".local/share", ".local/state", ".cache", "run"):
        (home / sub).mkdir(parents=True, exist_ok=True)
    (home / "run").chmod(0o700)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local/share"))
    monkeypatch.setenv("XDG_STATE_HOME", str(home / ".local/state"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(home / "run"))
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)
    # Never the user's own store either: a test that wants a server names one.
    monkeypatch.delenv("SANDGATE_DATABASE_URL", raising=False)
    # Never the user's keyring: a process started by a test finds none (tests that need
    # one set their own backend in-process).
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    return home


@pytest.fixture
def short_runtime(isolated_env: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A short XDG_RUNTIME_DIR, as a real one (/run/user/N) is: the proxy's per-session
    sockets must fit AF_UNIX's 108 bytes, which pytest's temporary paths exceed."""
    import shutil
    import tempfile

    runtime = Path(tempfile.mkdtemp(prefix="sg"))
    runtime.chmod(0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    yield runtime
    shutil.rmtree(runtime, ignore_errors=True)


@pytest.fixture
def real_service(short_runtime: Path) -> Iterator[Any]:
    """The whole real service (triage, sandbox, egress) in a thread of this process, for
    `sandgate run`, hooks and clients to find; yields its `Paths`."""
    from app.paths import Paths
    from app.service.runtime import start_in_thread

    paths = Paths.from_environment().ensure()
    thread = start_in_thread(paths)
    yield paths
    thread.stop()


@pytest.fixture(scope="session")
def postgres() -> Iterator[Any]:
    """One throwaway PostgreSQL server for the whole run (tests/postgres_cluster.py), on a
    Unix socket in a temporary folder; each test makes its own database in it. Without
    Debian's `postgresql` package the PostgreSQL tests skip locally and fail in CI."""
    from tests.postgres_cluster import Cluster, server_programs

    if server_programs() is None:
        message = "no PostgreSQL server programs: packaging/install.sh installs `postgresql`"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    cluster = Cluster().start()
    yield cluster
    cluster.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    """Where a store test keeps its store: an SQLite file of its own, or a database of
    its own on the run's PostgreSQL server (the URL a user would configure)."""
    if request.param == "sqlite":
        return tmp_path / "sandgate.db"
    return request.getfixturevalue("postgres").create_database()
