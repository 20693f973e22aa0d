"""The service's one seam to `sandbox/`: policy, plan, protected files.

Sessions talk to a `SandboxPort`; `SandboxAdapter` is the real one, over
`sandbox.policy`, `sandbox.plan`, `sandbox.protect` and `sandbox.agent_settings`, and
is the only place in the service that knows their types. Tests may pass their own port.
"""

from __future__ import annotations

import os
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
    settings_files: tuple[Path, ...] = ()  # agent settings written in place: watch them
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
    tty: bool = False  # the agent keeps the caller's terminal


class SandboxPort(Protocol):
    def load_policy(self, request: OpenRequest) -> Any:
        """The effective policy for this session; raise ValueError with a message if bad."""

    def prepare(self, request: OpenRequest, policy: Any, network: Any) -> Prepared:
        """Build the sandbox (decoys written into `request.session_dir`)."""

    def protected_changes(self, prepared: Prepared, workspace: Path) -> Sequence[Path]:
        """Protected files that appeared or changed in `workspace` during the session."""

    def hold(self, files: Sequence[Path], workspace: Path, folder: Path) -> list[tuple[Path, Path]]:
        """Move `files` out of the workspace into `folder`; (original, stored) pairs."""

    def review_changes(
        self, prepared: Prepared, changed: Sequence[Path], held: Path
    ) -> tuple[list[Path], list[tuple[Path, str]]]:
        """Keep the agent's harmless settings changes and the git configs it made (minus
        their program keys); store what runs code in `held`. Returns the protected files
        of `changed` still to quarantine, and (file, diff) review items."""

    def settle_settings(self, prepared: Prepared, path: Path, held: Path) -> list[tuple[Path, str]]:
        """Review one of `settings_files` just written: (file, diff) of what was held."""

    def accept_settings(self, files: Sequence[Path], held: Path) -> list[Path]:
        """Apply the held settings changes of `files` (a person accepted them)."""

    def restage_settings(self, prepared: Prepared, accepted: Sequence[Path]) -> None:
        """Show a session not started yet its settings files as they are now, after the
        held changes of `accepted` were applied."""


def new_canary(*_args: object) -> str:
    """A fresh canary token; the arguments (credential id, format) do not matter."""
    return "sgc" + secrets.token_hex(16)


class SandboxAdapter:
    """The real sandbox. The policy files are read afresh for each session, so an edit
    to the user's policy applies to the next session without a restart."""

    def __init__(
        self,
        default_policy: Path,
        user_policy: Path,
        private_paths: Sequence[Path] = (),
        bwrap: str | None = None,
    ) -> None:
        self.default_policy = default_policy
        self.user_policy = user_policy
        self.private_paths = tuple(private_paths)
        self.bwrap = bwrap
        self._versions: dict[tuple[str, int, int], tuple[int, ...] | None] = {}

    def preflight(self) -> str:
        """The bwrap to run, after checking that it can sandbox here (raises
        `SandboxUnavailable` with the fix). Done by the service rather than by each
        `sandgate run`, which would pay a `bwrap --version` before every agent: the
        version is asked once per binary, the namespace settings every time."""
        from sandbox.preflight import HostProbe, bwrap_version, check_bwrap, read_sysctls, which

        path = self.bwrap or which("bwrap")
        if path is None or not os.path.exists(path):
            check_bwrap(HostProbe(None, None, read_sysctls(), os.getuid()))
            raise AssertionError("unreachable: check_bwrap refuses a missing bwrap")
        info = os.stat(path)
        key = (path, info.st_mtime_ns, info.st_size)
        if key not in self._versions:
            self._versions[key] = bwrap_version(path)
        check_bwrap(
            HostProbe(
                path,
                self._versions[key],
                read_sysctls(),
                os.getuid(),
                bwrap_setuid=bool(info.st_mode & 0o4000),
            )
        )
        return path

    def load_policy(self, request: OpenRequest) -> Any:
        from sandbox.policy import load_policy, policy_files

        extra = [request.policy_file] if request.policy_file is not None else []
        return load_policy(
            *policy_files(self.default_policy, self.user_policy, extra),
            workspace=request.workspace,
            profile=request.profile,
            command=request.command,
            home=request.home,
        )

    def prepare(self, request: OpenRequest, policy: Any, network: Any) -> Prepared:
        from sandbox.agent_settings import in_place
        from sandbox.backend import backend_name, build_plan, seatbelt_preflight

        # The platform picks the backend (bwrap here, Seatbelt on macOS); same plan back.
        program = self.preflight() if backend_name() == "bwrap" else seatbelt_preflight()
        plan = build_plan(
            policy,
            request.workspace,
            request.home,
            request.session_dir,
            request.command,
            request.env,
            new_canary,
            network,
            tty=request.tty,
            private_paths=self.private_paths,
            program=program,
        )
        decoys = tuple(
            Decoy(
                host=d.host_file,
                shown=str(d.sandbox_path),
                credential=d.credential_id,
                canary=d.canary,
            )
            for d in plan.decoys
        )
        return Prepared(
            argv=tuple(plan.argv),
            env=dict(plan.env),
            decoys=decoys,
            memory_files=tuple(plan.memory_files),
            settings_files=tuple(in_place(plan.settings)),
            plan=plan,
            notices=tuple(plan.notices),
        )

    def protected_changes(self, prepared: Prepared, workspace: Path) -> Sequence[Path]:
        from sandbox.protect import changed_protected

        return changed_protected(prepared.plan.protected_snapshot, workspace)

    def hold(self, files: Sequence[Path], workspace: Path, folder: Path) -> list[tuple[Path, Path]]:
        from sandbox.protect import quarantine

        return [(q.original, q.stored) for q in quarantine(files, workspace, folder)]

    def review_changes(
        self, prepared: Prepared, changed: Sequence[Path], held: Path
    ) -> tuple[list[Path], list[tuple[Path, str]]]:
        from sandbox.agent_settings import finish, project_files
        from sandbox.gitconfig import review_git_configs, shipped_git_rules, split_changes

        plan = prepared.plan
        # A protected file changed by a person accepting its review is not the agent's.
        accepted = plan.settings.accepted
        changed = [p for p in changed if accepted.get(str(p), None) != _text(p)]
        workspace = plan.protected_snapshot.workspace
        configs, rest = split_changes(changed, workspace)
        items, unreadable = review_git_configs(configs, held, shipped_git_rules())
        existed = plan.protected_snapshot.entries
        created = [p for p in rest if str(p) not in existed]
        project, rest_created = project_files(plan.settings, workspace, created, held)
        rest = [p for p in rest if str(p) in existed] + rest_created
        items += project + finish(plan.settings, held)
        return [*rest, *unreadable], [(h.path, h.diff) for h in items]

    def settle_settings(self, prepared: Prepared, path: Path, held: Path) -> list[tuple[Path, str]]:
        from sandbox.agent_settings import settle

        return [(h.path, h.diff) for h in settle(prepared.plan.settings, path, held)]

    def accept_settings(self, files: Sequence[Path], held: Path) -> list[Path]:
        from sandbox.agent_settings import accept

        return accept(files, held)

    def restage_settings(self, prepared: Prepared, accepted: Sequence[Path]) -> None:
        prepared.plan.settings.stage(accepted)


def _text(path: Path) -> str | None:
    from sandbox.agent_settings import read_text

    return read_text(path)
