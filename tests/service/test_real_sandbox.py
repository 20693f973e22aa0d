"""The service with the real sandbox: real policy files, real bwrap, real decoys."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.client import Client, ServiceError, connect
from app.paths import Paths
from app.service.runtime import start_in_thread

pytestmark = pytest.mark.skipif(shutil.which("bwrap") is None, reason="needs bubblewrap")


@pytest.fixture
def client(paths: Paths, triage: Any) -> Iterator[Client]:
    thread = start_in_thread(paths, triage=triage, extensions=())
    client = connect(paths)
    assert client is not None
    yield client
    client.close()
    thread.stop()


def _open(client: Client, workspace: Path, home: Path) -> dict[str, Any]:
    return client.request(
        "session.open",
        workspace=str(workspace),
        command=["cat", str(home / ".aws" / "credentials")],
        env={"HOME": str(home), "PATH": "/usr/bin:/bin"},
    )


def test_a_decoy_read_inside_bwrap_is_recorded_with_its_canary(
    client: Client, isolated_env: Path, workspace: Path
) -> None:
    secret = isolated_env / ".aws" / "credentials"
    secret.parent.mkdir()
    secret.write_text("[default]\naws_secret_access_key = REALSECRET\n")
    opened = _open(client, workspace, isolated_env)
    run = subprocess.run(opened["argv"], env=opened["env"], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert "REALSECRET" not in run.stdout
    [start] = [
        r
        for r in client.request("history", session=opened["session"])["rows"]
        if r["kind"] == "session.start"
    ]
    deadline = time.monotonic() + 1.0
    while time.monotonic() < deadline:
        rows = client.request("history", session=opened["session"], band="high")["rows"]
        if rows:
            break
        time.sleep(0.02)
    [row] = rows
    assert (row["kind"], row["path"]) == ("file.read", str(secret))
    client.request("session.close", session=opened["session"], exit_code=run.returncode)
    assert start["session"] == opened["session"]


def test_an_edit_to_the_user_policy_applies_to_the_next_session(
    client: Client, paths: Paths, isolated_env: Path, workspace: Path
) -> None:
    notes = isolated_env / "notes"
    notes.mkdir()
    first = _open(client, workspace, isolated_env)
    assert str(notes) not in first["argv"]
    paths.user_policy.write_text("version: 1\ntrusted:\n  - ~/notes\n")
    second = _open(client, workspace, isolated_env)
    assert str(notes) in second["argv"]
    paths.user_policy.write_text("version: 1\ntrusted: [\n")
    with pytest.raises(ServiceError, match=r"policy\.yaml"):
        _open(client, workspace, isolated_env)
