"""`sandgate hook install|uninstall`: the hook goes in beside other settings and comes out
exactly; the files holding it are protected inside the sandbox."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from kit import sandgate

from app.hook_install import hook_command, is_ours

OTHER_SETTINGS = {
    "model": "opus",
    "permissions": {"allow": ["Bash(npm test)"]},
    "hooks": {
        "PreToolUse": [{"matcher": "Bash", "hooks": [{"type": "command", "command": "lint.sh"}]}],
        "Stop": [{"hooks": [{"type": "command", "command": "notify-send done"}]}],
    },
}


def test_install_adds_the_hook_beside_other_settings_and_uninstall_restores_them(
    isolated_env: Path, workspace: Path
) -> None:
    settings = workspace / ".claude" / "settings.local.json"
    settings.parent.mkdir()
    settings.write_text(json.dumps(OTHER_SETTINGS, indent=2))
    done = sandgate("hook", "install", "claude-code", "--project", str(workspace), cwd=workspace)
    assert done.returncode == 0, done.stderr
    installed = json.loads(settings.read_text())
    assert (
        installed["model"] == "opus" and installed["permissions"] == OTHER_SETTINGS["permissions"]
    )
    assert installed["hooks"]["Stop"] == OTHER_SETTINGS["hooks"]["Stop"]
    pre = installed["hooks"]["PreToolUse"]
    assert pre[0] == OTHER_SETTINGS["hooks"]["PreToolUse"][0]
    assert pre[1] == {
        "matcher": "*",
        "hooks": [{"type": "command", "command": hook_command("claude-code"), "timeout": 150}],
    }
    assert is_ours(installed["hooks"]["PermissionRequest"][0]["hooks"][0], "claude-code")

    again = sandgate("hook", "install", "claude-code", "--project", str(workspace), cwd=workspace)
    assert "already" in again.stdout
    assert json.loads(settings.read_text()) == installed  # installing twice adds nothing

    gone = sandgate("hook", "uninstall", "claude-code", "--project", str(workspace), cwd=workspace)
    assert gone.returncode == 0, gone.stderr
    assert json.loads(settings.read_text()) == OTHER_SETTINGS


def test_a_file_made_by_install_is_removed_by_uninstall(isolated_env: Path, tmp_path: Path) -> None:
    codex_home = isolated_env / ".codex"
    done = sandgate("hook", "install", "codex", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    written = json.loads((codex_home / "hooks.json").read_text())
    assert list(written["hooks"]) == ["PermissionRequest"]
    assert (codex_home / "hooks.json").stat().st_mode & 0o777 == 0o600
    assert sandgate("hook", "uninstall", "codex", cwd=tmp_path).returncode == 0
    assert not (codex_home / "hooks.json").exists()


def test_settings_that_are_not_json_are_named_with_the_line_and_left_alone(
    isolated_env: Path, tmp_path: Path
) -> None:
    settings = isolated_env / ".claude" / "settings.json"
    settings.parent.mkdir()
    settings.write_text('{\n  "model": "opus",\n  oops\n}\n')
    done = sandgate("hook", "install", "claude-code", cwd=tmp_path)
    assert done.returncode == 1
    assert f"{settings}:3: not valid JSON" in done.stderr
    assert "Traceback" not in done.stderr
    assert settings.read_text() == '{\n  "model": "opus",\n  oops\n}\n'


@pytest.mark.skipif(shutil.which("bwrap") is None, reason="needs bubblewrap")
@pytest.mark.parametrize(
    ("agent", "relative"),
    [("claude-code", ".claude/settings.local.json"), ("codex", ".codex/hooks.json")],
)
def test_the_installed_hook_cannot_be_changed_from_inside_the_sandbox(
    service: object, workspace: Path, agent: str, relative: str
) -> None:
    assert (
        sandgate("hook", "install", agent, "--project", str(workspace), cwd=workspace).returncode
        == 0
    )
    before = (workspace / relative).read_text()
    run = sandgate("run", "--", "sh", "-c", f"echo '{{}}' > {relative}", cwd=workspace)
    assert run.returncode != 0
    assert (workspace / relative).read_text() == before
