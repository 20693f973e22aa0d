"""One Seatbelt world per test: a home, a workspace and a session folder whose names
may hold spaces, quotes, brackets and unicode, the shipped policy and catalogue.

Plans are built for `platform="darwin"`; nothing is executed here (tests marked
`macos` run the profile for real on a Mac)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from sandbox.backend import build_plan
from sandbox.plan import SandboxPlan
from sandbox.policy import Policy, load_policy

# Folder names that broke other projects' profiles: a space, a quote that would end an
# SBPL string, a backslash, brackets that a regex would read as a class, unicode.
TRICKY = {
    "plain": "project",
    "space": "my project",
    "quote": 'say "hi"',
    "backslash": "back\\slash",
    "brackets": "proj [v2]",
    "unicode": "café 漢字",
}


@dataclass
class World:
    home: Path
    workspace: Path
    state: Path
    defaults: Path
    policy_yaml: str = ""
    profile: str | None = None

    @property
    def session_dir(self) -> Path:
        return self.state / "sessions" / "s1"

    def policy(self) -> Policy:
        files = [self.defaults]
        if self.policy_yaml:
            user = self.state / "policy.yaml"
            user.write_text(self.policy_yaml)
            files.append(user)
        return load_policy(*files, workspace=self.workspace, profile=self.profile, home=self.home)

    def env(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        env = {
            "PATH": "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin",
            "HOME": str(self.home),
            "PWD": str(self.workspace),
            "LANG": "en_US.UTF-8",
        }
        env.update(extra or {})
        return env

    def plan(self, command: Sequence[str] = ("/bin/echo", "hi"), **options: Any) -> SandboxPlan:
        env = self.env(options.pop("env", None))
        return build_plan(
            self.policy(),
            self.workspace,
            self.home,
            self.session_dir,
            list(command),
            env,
            lambda credential: f"sgc-{credential}",
            platform=options.pop("platform", "darwin"),
            **options,
        )


def profile_text(plan: SandboxPlan) -> str:
    """The profile a plan runs with, whether passed inline (`-p`) or as a file (`-f`)."""
    flag, value = plan.argv[1], plan.argv[2]
    if flag == "-p":
        return value
    assert flag == "-f", plan.argv[:3]
    return Path(value).read_text(encoding="utf-8")


@pytest.fixture(params=sorted(TRICKY), ids=sorted(TRICKY))
def world(request: pytest.FixtureRequest, isolated_env: Path, tmp_path: Path) -> World:
    """A world whose home and workspace both carry one tricky name."""
    from resources import resources_dir

    name = TRICKY[request.param]
    home = isolated_env.parent / f"home {name}"
    home.mkdir()
    workspace = tmp_path / "work" / name
    workspace.mkdir(parents=True)
    state = home / ".local" / "state" / "sandgate"
    state.mkdir(parents=True)
    return World(home, workspace, state, resources_dir() / "policy" / "default.yaml")


@pytest.fixture
def plain(isolated_env: Path, tmp_path: Path) -> World:
    """A world with ordinary names, for tests about one rule rather than about paths."""
    from resources import resources_dir

    workspace = tmp_path / "ws"
    workspace.mkdir()
    state = isolated_env / ".local" / "state" / "sandgate"
    state.mkdir(parents=True)
    return World(isolated_env, workspace, state, resources_dir() / "policy" / "default.yaml")
