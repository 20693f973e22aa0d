"""The service's one seam to `sandbox/`: policy, plan, protected files.

Sessions talk to a `SandboxPort`; `SandboxAdapter` is the real one, over
`sandbox.policy`, `sandbox.plan` and `sandbox.protect`, and is the only place in the
service that knows their types. Tests may pass their own port.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol


@dataclass(frozen=True)
class Decoy:
    host: Path  # the file on the host that the sandbox shows
    shown: str  # where the agent sees it (the credential location)
    credential: str  # catalogue id
    canary: str


@dataclass(frozen=True)
class Prepared:
    """What a session needs from the sandbox side."""

    argv: tuple[str, ...]
    env: Mapping[str, str]
    decoys: tuple[Decoy, ...] = ()
    memory_files: tuple[Path, ...] = ()
    plan: Any = None  # the sandbox's own plan, handed back at close
    notices: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class OpenRequest:
    session: str
    workspace: Path
    home: Path
    session_dir: Path
    command: tuple[str, ...]
    env: Mapping[str, str]
    profile: str | None
    policy_file: Path | None


class SandboxPort(Protocol):
    def load_policy(self, request: OpenRequest) -> Any:
        """The effective policy for this session; raise ValueError with a message if bad."""

    def prepare(self, request: OpenRequest, policy: Any, network: Any) -> Prepared:
        """Build the sandbox (decoys written into `request.session_dir`)."""

    def protected_changes(self, prepared: Prepared, workspace: Path) -> Sequence[Path]:
        """Protected files that appeared or changed in `workspace` during the session."""


def new_canary(*_args: object) -> str:
    """A fresh canary token; the arguments (credential id, format) do not matter."""
    return "sgc" + secrets.token_hex(16)


class SandboxAdapter:
    """The real sandbox, read from the user's files each time (no restart after edits)."""

    def __init__(self, default_policy: Path, user_policy: Path) -> None:
        self.default_policy = default_policy
        self.user_policy = user_policy

    def load_policy(self, request: OpenRequest) -> Any:
        from sandbox.policy import load_policy

        files = [self.default_policy]
        if self.user_policy.exists():
            files.append(self.user_policy)
        if request.policy_file is not None:
            files.append(request.policy_file)
        kwargs: dict[str, Any] = {"workspace": request.workspace}
        if request.profile is not None:
            kwargs["profile"] = request.profile
        return load_policy(*files, **kwargs)

    def prepare(self, request: OpenRequest, policy: Any, network: Any) -> Prepared:
        from sandbox.plan import build_plan

        plan = build_plan(
            policy,
            request.workspace,
            request.home,
            request.session_dir,
            list(request.command),
            dict(request.env),
            new_canary,
            network=network,
        )
        decoys = tuple(
            Decoy(
                host=Path(d.host),
                shown=str(d.sandbox_path),
                credential=str(d.credential),
                canary=str(d.canary),
            )
            for d in plan.decoys
        )
        return Prepared(
            argv=tuple(plan.argv),
            env=dict(plan.env),
            decoys=decoys,
            memory_files=tuple(Path(p) for p in plan.memory_files),
            plan=plan,
        )

    def protected_changes(self, prepared: Prepared, workspace: Path) -> Sequence[Path]:
        from sandbox.protect import changed_protected_files

        return [
            Path(p) for p in changed_protected_files(prepared.plan.protected_snapshot, workspace)
        ]
