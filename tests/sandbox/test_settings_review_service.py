"""A held settings change through the real service and `sandgate run`, end to end."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from app.paths import Paths


def sandgate(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        cwd=cwd,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=60,
    )


HOOKED = {"theme": "light", "hooks": {"Stop": [{"hooks": [{"type": "command", "command": "x"}]}]}}


def test_a_hook_added_in_a_session_is_reviewed_before_the_next_and_then_applied(
    real_service: Paths, isolated_env: Path, tmp_path: Path
) -> None:
    workspace = tmp_path / "project"
    workspace.mkdir()
    settings = isolated_env / ".claude" / "settings.json"
    settings.parent.mkdir()
    settings.write_text('{"theme": "dark"}\n')
    write = f"printf '%s' '{json.dumps(HOOKED)}' > ~/.claude/settings.json"
    run = sandgate("run", "--profile", "claude-code", "--", "sh", "-c", write, cwd=workspace)
    assert run.returncode == 0, run.stderr
    assert json.loads(settings.read_text()) == {"theme": "light"}  # the hook is held

    look = "grep -c Stop ~/.claude/settings.json"
    refused = sandgate("run", "--profile", "claude-code", "--", "sh", "-c", look, cwd=workspace)
    assert refused.returncode == 1
    assert "held for review" in refused.stderr and '"command": "x"' in refused.stderr

    accepted = sandgate(
        "run", "--profile", "claude-code", "--accept-memory", "--", "sh", "-c", look, cwd=workspace
    )
    assert accepted.returncode == 0, accepted.stderr
    assert accepted.stdout.strip() == "1"  # the session that accepted it already sees it
    assert json.loads(settings.read_text()) == HOOKED
    again = sandgate("run", "--profile", "claude-code", "--", "true", cwd=workspace)
    assert again.returncode == 0, again.stderr  # nothing left to review


def test_git_init_in_sandgate_run_keeps_the_config_and_holds_only_fsmonitor(
    real_service: Paths, tmp_path: Path
) -> None:
    workspace = tmp_path / "repo"
    workspace.mkdir()
    script = (
        "git init -q -b main . && git config core.fsmonitor /tmp/x && echo a > a && "
        "git add a && git -c user.name=T -c user.email=t@e commit -qm one"
    )
    run = sandgate("run", "--", "sh", "-c", script, cwd=workspace)
    assert run.returncode == 0, run.stderr
    assert "held for review (not in your workspace" not in run.stderr  # nothing quarantined
    assert (workspace / ".git" / "config").is_file()
    assert list((workspace / ".git" / "hooks").glob("*.sample"))
    log = subprocess.run(["git", "-C", str(workspace), "log", "--oneline"], capture_output=True)
    assert log.returncode == 0 and b"one" in log.stdout
    assert b"fsmonitor" not in (workspace / ".git" / "config").read_bytes()
    refused = sandgate("run", "--", "true", cwd=workspace)
    assert refused.returncode == 1 and "core.fsmonitor" in refused.stderr


def test_a_project_settings_file_created_inside_keeps_its_harmless_keys(
    real_service: Paths, tmp_path: Path
) -> None:
    workspace = tmp_path / "project"
    workspace.mkdir()
    local = workspace / ".claude" / "settings.local.json"
    wanted = {"outputStyle": "Explanatory", "permissions": {"allow": ["Bash(rm:*)"]}}
    write = f"mkdir -p .claude && printf '%s' '{json.dumps(wanted)}' > .claude/settings.local.json"
    run = sandgate("run", "--profile", "claude-code", "--", "sh", "-c", write, cwd=workspace)
    assert run.returncode == 0, run.stderr
    assert "not in your workspace any more" not in run.stderr, run.stderr  # not quarantined whole
    assert json.loads(local.read_text()) == {"outputStyle": "Explanatory"}
    refused = sandgate("run", "--profile", "claude-code", "--", "true", cwd=workspace)
    assert refused.returncode == 1 and "Bash(rm:*)" in refused.stderr
    accepted = sandgate(
        "run", "--accept-memory", "--profile", "claude-code", "--", "true", cwd=workspace
    )
    assert accepted.returncode == 0, accepted.stderr
    assert json.loads(local.read_text()) == wanted


def test_a_hook_written_in_place_is_off_the_host_within_moments_not_at_the_end(
    real_service: Paths, isolated_env: Path, tmp_path: Path
) -> None:
    import time

    workspace = tmp_path / "project"
    workspace.mkdir()
    settings = isolated_env / ".claude" / "settings.json"
    settings.parent.mkdir()
    settings.write_text('{"theme": "dark"}\n')
    script = (
        f"printf '%s' '{json.dumps(HOOKED)}' > ~/.claude/settings.json; "
        "while [ ! -e ready ]; do sleep 0.1; done; cat ~/.claude/settings.json"
    )
    run = [sys.executable, "-m", "app.cli", "run", "--profile", "claude-code", "--"]
    agent = subprocess.Popen(
        [*run, "sh", "-c", script],
        cwd=workspace,
        env=dict(os.environ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 20
        seen_theme = None
        while time.monotonic() < deadline:  # the session is still running meanwhile
            text = settings.read_text()
            if '"light"' in text and "hooks" not in text:
                seen_theme = text
                break
            time.sleep(0.05)
        assert seen_theme is not None, settings.read_text()
        assert agent.poll() is None  # taken out while the agent still runs
    finally:
        (workspace / "ready").touch()
        out, err = agent.communicate(timeout=30)
    assert agent.returncode == 0, err
    assert "hooks" not in out and '"light"' in out  # the agent sees it taken out too
    assert json.loads(settings.read_text()) == {"theme": "light"}
    refused = sandgate("run", "--profile", "claude-code", "--", "true", cwd=workspace)
    assert refused.returncode == 1 and '"command": "x"' in refused.stderr
