"""`sandgate demo` end to end: the real service, a real bwrap sandbox, the real proxy and
the demo's own servers on 127.0.0.1; the keyring is one that always fails, so the demo
cannot lean on it, and the test's home must come out of it untouched."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import keyring
import pytest
from keyring.backends.fail import Keyring as FailKeyring

from app.paths import Paths

if shutil.which("bwrap") is None or shutil.which("socat") is None:  # pragma: no cover
    pytest.skip("needs bubblewrap and socat", allow_module_level=True)


@pytest.fixture
def runtime(short_runtime: Path, monkeypatch: pytest.MonkeyPatch) -> Paths:
    """The paths of a short runtime folder (session sockets must fit AF_UNIX)."""
    # The demo's own subprocess must not find a keyring either.
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    return Paths.from_environment().ensure()


@pytest.fixture
def no_keyring() -> Iterator[None]:
    previous = keyring.get_keyring()
    keyring.set_keyring(FailKeyring())
    yield
    keyring.set_keyring(previous)


def demo(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", "demo", *args],
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=120,
    )


def history(session: str) -> list[dict[str, Any]]:
    out = subprocess.run(
        [sys.executable, "-m", "app.cli", "history", "--json", "--session", session],
        env=dict(os.environ), capture_output=True, text=True, timeout=30, check=True,
    ).stdout  # fmt: skip
    return [json.loads(line) for line in out.splitlines()]


def session_of(output: str) -> str:
    [line] = [x for x in output.splitlines() if x.startswith("Session ")]
    return line.split()[1].rstrip(",")


def rules(row: dict[str, Any]) -> set[str]:
    return {r["rule"] for r in row["reasons"]}


def test_demo_on_the_running_service(runtime: Paths, isolated_env: Path, no_keyring: None) -> None:
    from app.service.runtime import start_in_thread

    before = sorted(p.relative_to(isolated_env) for p in isolated_env.rglob("*"))
    service = start_in_thread(runtime)
    try:
        run = demo()
    finally:
        service.stop()
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Traceback" not in run.stdout + run.stderr
    out = run.stdout
    assert "opened on the running Sandgate service" in out
    assert "  collector:  nothing\n" in out
    assert "0 with the attacker's key" in out
    assert "did NOT go as expected" not in out

    rows = history(session_of(out))
    requests = [r for r in rows if r["kind"] == "net.request"]
    # Ordinary work: the vendor call with the placeholder went through, key swapped in.
    [ordinary] = [r for r in requests if r["decision"] == "allow"]
    assert ordinary["host"] == "api.vendor.test"
    assert ordinary["decided_by"] == "credential:credential:sandgate-demo-vendor"
    # Incident 1: the decoy read ranked high; the POST carrying its canary refused, critical.
    [read] = [r for r in rows if r["kind"] == "file.read"]
    assert read["band"] == "high" and "cred.read" in rules(read)
    assert read["path"].endswith("/.aws/credentials")
    [stolen] = [r for r in requests if r["host"] == "collector.test"]
    assert (stolen["decision"], stolen["decided_by"], stolen["band"]) == (
        "deny",
        "canary",
        "critical",
    )
    assert {"egress.canary", "egress.after-credential-read"} <= rules(stolen)
    # Incident 2: the attacker's key on the allowed domain refused, critical.
    [upload] = [r for r in requests if r["host"] == "api.vendor.test" and r["decision"] == "deny"]
    assert upload["decided_by"] == "credential" and upload["band"] == "critical"
    assert "egress.foreign-credential" in rules(upload)
    # The user's (here: the test's) home holds only what the service itself keeps there.
    after = sorted(p.relative_to(isolated_env) for p in isolated_env.rglob("*"))
    assert not [p for p in after if p not in before and p.parts[0] not in (".local", ".config")]
    assert not (isolated_env / ".aws").exists()


def test_demo_starts_a_service_when_none_runs(runtime: Paths) -> None:
    run = demo()
    assert run.returncode == 0, run.stdout + run.stderr
    assert "started inside this command" in run.stdout
    assert "  collector:  nothing\n" in run.stdout
    # Its folder (fake home, workspace, certificates) is gone afterwards.
    root = next(line for line in run.stdout.splitlines() if "holding a fake" in line)
    assert not Path(root.split()[4].rstrip(",")).exists()


def test_session_secrets_must_be_names_to_secrets(runtime: Paths, tmp_path: Path) -> None:
    from app.client import ServiceError, connect
    from app.service.runtime import start_in_thread

    service = start_in_thread(runtime)
    client = connect(runtime)
    assert client is not None
    fields = {"workspace": str(tmp_path), "command": ["true"], "env": {}}
    try:
        for bad in ({"demo": 1}, {"demo": ""}, ["demo"]):
            with pytest.raises(ServiceError, match="secrets"):
                client.request("session.open", **fields, secrets=bad)
    finally:
        client.close()
        service.stop()
