"""One interface over the sandbox backends: bubblewrap on Linux, Seatbelt on macOS.

`build_plan` takes the policy and the session's inputs and returns a `SandboxPlan`
whichever backend runs; the platform decides, and the rest of Sandgate never asks
which. A platform without a backend is refused: there is no unsandboxed fallback.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Literal

from sandbox.decoys import CanaryFactory, CredentialLocation
from sandbox.filesystem import PlanError
from sandbox.plan import NetworkPlan, SandboxPlan
from sandbox.policy import Policy

BackendName = Literal["bwrap", "seatbelt"]


def backend_name(platform: str | None = None) -> BackendName:
    """The backend for `platform` (default: this machine's `sys.platform`)."""
    platform = sys.platform if platform is None else platform
    if platform.startswith("linux"):
        return "bwrap"
    if platform == "darwin":
        return "seatbelt"
    raise PlanError(f"Sandgate has no sandbox for this platform ({platform})")


def seatbelt_preflight(sandbox_exec: str | None = None) -> str:
    """The `sandbox-exec` to run; PlanError with the reason if it is missing."""
    from sandbox.seatbelt.plan import SANDBOX_EXEC

    path = sandbox_exec or SANDBOX_EXEC
    if not os.access(path, os.X_OK):
        raise PlanError(f"{path} is missing: Seatbelt's sandbox-exec ships with macOS")
    return path


def build_plan(
    policy: Policy,
    workspace: Path,
    home: Path,
    session_dir: Path,
    command: Sequence[str],
    env: Mapping[str, str],
    canary_factory: CanaryFactory,
    network: NetworkPlan | None = None,
    *,
    catalogue: Sequence[CredentialLocation] | None = None,
    tty: bool = False,
    private_paths: Sequence[Path] = (),
    program: str | None = None,
    platform: str | None = None,
) -> SandboxPlan:
    """Plan one session with this platform's backend (see `sandbox.plan.build_plan`
    for the arguments). `program` is the backend's executable (bwrap or sandbox-exec;
    None finds it); `platform` overrides `sys.platform`, so a plan for another system
    can be built and read, never run."""
    if backend_name(platform) == "seatbelt":
        from sandbox.seatbelt.plan import build_seatbelt_plan

        return build_seatbelt_plan(
            policy,
            workspace,
            home,
            session_dir,
            command,
            env,
            canary_factory,
            network,
            catalogue=catalogue,
            tty=tty,
            private_paths=private_paths,
            sandbox_exec=program,
        )
    from sandbox.plan import build_plan as build_bwrap_plan

    return build_bwrap_plan(
        policy,
        workspace,
        home,
        session_dir,
        command,
        env,
        canary_factory,
        network,
        catalogue=catalogue,
        tty=tty,
        private_paths=private_paths,
        bwrap=program,
    )
