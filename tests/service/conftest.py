"""A real service on a real socket in a thread, with stand-ins for the sandbox side."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from app.client import Client, connect
from app.paths import Paths
from app.service.runtime import ServiceThread, start_in_thread
from app.service.sandboxing import Decoy, OpenRequest, Prepared

CANARY = "sgc" + "5eed" * 8  # shaped like a real one, so the real triage knows it


@dataclass(frozen=True)
class _Verdict:
    data: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return self.data


class FakeTriage:
    """Scores a read of a credential path high and everything else low."""

    def __init__(self) -> None:
        self.forgotten: list[str] = []

    def forget(self, session: str) -> None:
        self.forgotten.append(session)

    def score_dict(self, event: dict[str, Any]) -> _Verdict:
        if event.get("kind") == "bogus":
            return _Verdict({"id": event.get("id"), "error": "unknown kind 'bogus'"})
        hot = ".aws" in str(event.get("path", ""))
        reasons = [{"rule": "cred.read", "points": 60, "why": "reads a credential"}] if hot else []
        return _Verdict(
            {
                "id": event["id"],
                "score": 60 if hot else 0,
                "band": "high" if hot else "low",
                "reasons": reasons,
                "signature": f"{event['kind']} {event.get('path', '')}",
            }
        )


class FakeSandbox:
    """Plants one decoy file in the session folder; reports files named in `protected`."""

    def __init__(self) -> None:
        self.protected: list[Path] = []
        self.opened: list[OpenRequest] = []

    def load_policy(self, request: OpenRequest) -> Any:
        if request.policy_file is not None and "bad" in request.policy_file.name:
            raise ValueError(f"{request.policy_file}:1: not a policy")
        return {}

    def prepare(self, request: OpenRequest, policy: Any, network: Any) -> Prepared:
        if request.command[0] == "unplannable":
            raise RuntimeError("the workspace is the home folder")
        self.opened.append(request)
        decoy = request.session_dir / "decoys" / "credentials"
        decoy.parent.mkdir()
        decoy.write_text(f"[default]\naws_secret_access_key = {CANARY}\n")
        return Prepared(
            argv=("bwrap", "--", *request.command),
            env={"PATH": "/usr/bin"},
            decoys=(Decoy(decoy, f"{request.home}/.aws/credentials", "aws", CANARY),),
            memory_files=(request.workspace / "CLAUDE.md",),
        )

    def protected_changes(self, prepared: Prepared, workspace: Path) -> Sequence[Path]:
        return [p for p in self.protected if p.exists()]

    def hold(self, files: Sequence[Path], workspace: Path, folder: Path) -> list[tuple[Path, Path]]:
        held = []
        for file in files:
            stored = folder / file.relative_to(workspace)
            stored.parent.mkdir(parents=True)
            file.rename(stored)
            held.append((file, stored))
        return held

    def review_changes(
        self, prepared: Prepared, changed: Sequence[Path], held: Path
    ) -> tuple[list[Path], list[tuple[Path, str]]]:
        return list(changed), []

    def settle_settings(self, prepared: Prepared, path: Path, held: Path) -> list[tuple[Path, str]]:
        return []

    def accept_settings(self, files: Sequence[Path], held: Path) -> list[Path]:
        return []

    def restage_settings(self, prepared: Prepared, accepted: Sequence[Path]) -> None:
        return None


@dataclass
class Running:
    paths: Paths
    thread: ServiceThread
    sandbox: FakeSandbox
    triage: FakeTriage

    def client(self) -> Client:
        client = connect(self.paths)
        assert client is not None
        return client


@pytest.fixture
def paths(isolated_env: Path) -> Paths:
    return Paths.from_environment().ensure()


@pytest.fixture
def triage() -> FakeTriage:
    return FakeTriage()


@pytest.fixture
def sandbox() -> FakeSandbox:
    return FakeSandbox()


@pytest.fixture
def running(paths: Paths, triage: FakeTriage, sandbox: FakeSandbox) -> Iterator[Running]:
    thread = start_in_thread(paths, sandbox=sandbox, triage=triage, extensions=())
    yield Running(paths, thread, sandbox, triage)
    thread.stop()


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    folder = tmp_path / "work"
    folder.mkdir()
    return folder


@pytest.fixture
def configured(paths: Paths, database: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The store a command or service finds, on each backend: the data folder's SQLite
    file, or the PostgreSQL database that SANDGATE_DATABASE_URL names."""
    if isinstance(database, Path):
        return paths.database
    monkeypatch.setenv("SANDGATE_DATABASE_URL", database)
    return database
