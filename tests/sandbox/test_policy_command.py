"""`sandgate policy check` names, in words, every credential a policy shows as it is and
every one it trusts by name but still shows as a decoy."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def _check(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", "policy", "check", *args],
        cwd=home,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_policy_check_names_exposed_and_decoyed_credentials(isolated_env: Path) -> None:
    policy = isolated_env / ".config" / "sandgate" / "policy.yaml"
    policy.parent.mkdir(parents=True, exist_ok=True)
    policy.write_text("trusted:\n  - ~/.ssh/id_ed25519\nexpose: [~/.aws/credentials]\n")
    done = _check(isolated_env)
    assert done.returncode == 0, done.stderr
    assert "exposes ~/.aws/credentials (AWS credentials) to the agent as it is" in done.stderr
    assert "trusts ~/.ssh/id_ed25519 (SSH private key" in done.stderr
    assert "sees a decoy there" in done.stderr
    assert "expose:\n- ~/.aws/credentials" in done.stdout
    # The shipped claude-code profile shows its state file with the key as a placeholder.
    claude = _check(isolated_env, "--profile", "claude-code")
    assert "exposes ~/.claude.json" not in claude.stderr
    assert "shows ~/.claude.json (Claude Code credentials) with its tokens replaced" in (
        claude.stderr
    )
