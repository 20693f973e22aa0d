"""`sandgate trust --explain`: the state and the reason, without a display."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.cli import main


def test_explain_prints_state_and_reason(
    isolated_env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home = isolated_env
    workspace = home / "src" / "shop"
    (workspace / ".git" / "hooks").mkdir(parents=True)
    (workspace / ".git" / "hooks" / "pre-push").write_text("#!/bin/sh\n")
    (home / "notes").mkdir()
    user = home / ".config" / "sandgate" / "policy.yaml"
    user.parent.mkdir(parents=True)
    user.write_text("# mine\ntrusted:\n  - {path: ~/notes, mode: rw}\n")
    assert user == home / ".config" / "sandgate" / "policy.yaml"
    code = main(
        ["trust", "--workspace", str(workspace), "--explain", str(home / "notes"),
         str(workspace / ".git" / "hooks" / "pre-push"), str(home / "Documents"),
         str(home / ".config" / "sandgate")]
    )  # fmt: skip
    out = capsys.readouterr().out.splitlines()
    assert code == 0
    assert out[0] == (
        f"{home}/notes: read-write: trusted — ~/notes (~/.config/sandgate/policy.yaml line 3)"
    )
    assert out[1].startswith(
        f"{workspace}/.git/hooks/pre-push: read-only: protected file — .git/hooks/** "
        "(the shipped policy line "
    )
    assert out[2] == f"{home}/Documents: hidden: the home is empty inside: nothing trusts it"
    assert out[3].startswith(f"{home}/.config/sandgate: hidden: ")


def test_a_bad_policy_is_one_sentence_naming_its_line(
    isolated_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    user = isolated_env / ".config" / "sandgate" / "policy.yaml"
    user.parent.mkdir(parents=True)
    user.write_text("trusted:\n  - ~/ok\n  - relative/path\n")
    assert main(["trust", "--workspace", str(isolated_env), "--explain", "/usr"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"sandgate: {user}:3: a trusted path 'relative/path' must start")
    assert "Traceback" not in err
