"""A real sandbox per test: its own home, workspace, session folder and catalogue."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from sandbox.decoys import CredentialLocation
from sandbox.plan import SandboxPlan, build_plan
from sandbox.policy import Policy, load_policy

if shutil.which("bwrap") is None:  # pragma: no cover - the CI installs it
    pytest.skip("bubblewrap is not installed", allow_module_level=True)

CATALOGUE = (
    CredentialLocation("aws", "AWS credentials", ("~/.aws/credentials",), "aws-ini"),
    CredentialLocation("ssh", "SSH private keys", ("~/.ssh/id_*",), "ssh-private-key"),
    CredentialLocation("netrc", "netrc", ("~/.netrc",), "netrc"),
    CredentialLocation("gh", "GitHub CLI", ("~/.config/gh/hosts.yml",), "yaml"),
    CredentialLocation("docker", "Docker", ("~/.docker/config.json",), "json"),
    CredentialLocation("kube", "Kubernetes", ("~/.kube/config",), "yaml"),
    CredentialLocation("firefox", "Firefox logins", ("~/.mozilla/firefox/*/key4.db",), "none"),
)


@dataclass
class Box:
    """One test's sandbox world. `policy_yaml` is an extra policy file's text."""

    home: Path
    workspace: Path
    state: Path
    defaults: Path
    policy_yaml: str = ""
    profile: str | None = None
    catalogue: Sequence[CredentialLocation] = CATALOGUE
    canaries: list[str] = field(default_factory=list)

    def policy(self) -> Policy:
        files = [self.defaults]
        if self.policy_yaml:
            user = self.state / "policy.yaml"
            user.write_text(self.policy_yaml)
            files.append(user)
        return load_policy(*files, workspace=self.workspace, profile=self.profile, home=self.home)

    def canary(self, credential: str) -> str:
        token = f"sgc-{credential}-{secrets.token_hex(8)}"
        self.canaries.append(token)
        return token

    def env(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        env = {
            "PATH": "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin",
            "HOME": str(self.home),
            "PWD": str(self.workspace),
            "LANG": "C.UTF-8",
            "XDG_RUNTIME_DIR": os.environ.get("XDG_RUNTIME_DIR", ""),
        }
        env.update(extra or {})
        return env

    def plan(self, command: Sequence[str], **options: Any) -> SandboxPlan:
        env = self.env(options.pop("env", None))
        return build_plan(
            self.policy(),
            self.workspace,
            self.home,
            self.state / "sessions" / "s1",
            list(command),
            env,
            self.canary,
            catalogue=self.catalogue,
            **options,
        )

    def run(self, script: str, **options: Any) -> subprocess.CompletedProcess[str]:
        """Run a shell script inside; stdout and stderr captured."""
        plan = self.plan(["/bin/sh", "-c", script], **options)
        return subprocess.run(
            plan.argv, env=dict(plan.env), capture_output=True, text=True, timeout=30, check=False
        )


@pytest.fixture
def box(isolated_env: Path, tmp_path: Path, resources: Path) -> Box:
    workspace = tmp_path / "ws"
    workspace.mkdir()
    state = tmp_path / "state"
    state.mkdir()
    return Box(
        home=isolated_env,
        workspace=workspace,
        state=state,
        defaults=resources / "policy" / "default.yaml",
    )
