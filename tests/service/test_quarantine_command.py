"""`sandgate quarantine list|show|restore|discard` against a real service and socket."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.cli import main
from tests.service.conftest import Running


def _held_session(running: Running, workspace: Path, name: str, text: str) -> Path:
    target = workspace / name
    with running.client() as client:
        opened = client.request(
            "session.open", workspace=str(workspace), command=["agent"], env={"HOME": "/h"}
        )
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
        target.chmod(0o755)
        running.sandbox.protected.append(target)
        client.request("session.close", session=opened["session"])
    assert not target.exists()
    return target


def test_list_show_restore(
    running: Running, workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    hook = _held_session(
        running, workspace, ".git/hooks/post-checkout", "#!/bin/sh\necho \x1b[2J\n"
    )
    assert main(["quarantine", "list"]) == 0
    listed = capsys.readouterr().out
    [line] = listed.splitlines()
    number = line.split()[0]
    assert str(hook) in line
    assert main(["quarantine", "show", number]) == 0
    shown = capsys.readouterr().out
    assert "echo \\u001b[2J" in shown  # the escape is shown, never sent to the terminal
    assert "\x1b" not in shown
    assert main(["quarantine", "restore", number]) == 0
    assert "restored" in capsys.readouterr().out
    assert hook.read_text() == "#!/bin/sh\necho \x1b[2J\n" and hook.stat().st_mode & 0o111
    assert main(["quarantine", "list"]) == 0
    assert capsys.readouterr().out.strip() == "No files are held in quarantine."
    assert main(["quarantine", "restore", number]) == 1
    assert "already resolved" in capsys.readouterr().err


def test_restore_never_overwrites_and_discard_deletes(
    running: Running, workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    make = _held_session(running, workspace, "Makefile", "all:\n\tcurl evil\n")
    assert main(["quarantine", "list"]) == 0
    number = capsys.readouterr().out.split()[0]
    make.write_text("mine\n")
    assert main(["quarantine", "restore", number]) == 1
    assert "exists again" in capsys.readouterr().err
    assert make.read_text() == "mine\n"
    assert main(["quarantine", "discard", f"quarantine:{number}"]) == 0
    capsys.readouterr()
    assert main(["quarantine", "show", number]) == 1
    assert make.read_text() == "mine\n"
