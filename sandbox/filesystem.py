"""The host as the agent sees it: the mounts a policy asks for, laid out in layers.

System folders, private scratch space and an empty home first (a writable staging
folder instead when the agent keeps settings directly in the home, see
sandbox/agent_settings.py); then trusted paths, the agent's executable, interpreter and
install folder (sandbox/agent_location.py), the workspace and a worktree's git
folders, shallow before deep; protected files re-bound read-only; denied paths,
Sandgate's own folders, the host's sockets and credential files without a decoy
format masked; decoys over the credential files found. sandbox/bwrap.py keeps the
order and what is visible where.

Four things happen on the host: the decoys (and an empty file used to mask denied
files) and the staged copies of the agent's settings are written into `session_dir`,
missing read-write trusted folders marked `create` are made, and which credential,
protected and socket files exist is read.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sandbox.agent_location import AgentNotFound, locate
from sandbox.agent_settings import SettingsPlan, plan_settings, settings_for
from sandbox.bwrap import Mounts, depth, scratch_mounts, system_mounts, within
from sandbox.decoys import (
    CanaryFactory,
    CredentialLocation,
    Decoy,
    found_credentials,
    load_catalogue,
    write_decoys,
)
from sandbox.patterns import expand, expand_home, has_magic, matches
from sandbox.policy import Policy
from sandbox.protect import bind_targets


# Here rather than in sandbox/plan.py (which re-exports it) because both raise it and
# the plan imports this module.
class PlanError(Exception):
    """The session cannot be planned as asked (the message says why)."""


@dataclass(frozen=True)
class Filesystem:
    """The mounts for one session (the network's are added by the plan), the decoys
    written for it and what the user should be told about what is shown."""

    mounts: Mounts
    decoys: tuple[Decoy, ...]
    notices: tuple[str, ...]
    settings: SettingsPlan = field(default_factory=SettingsPlan)


def plan_filesystem(
    policy: Policy,
    workspace: Path,
    home: Path,
    session_dir: Path,
    program: str,
    env: Mapping[str, str],
    canary_factory: CanaryFactory,
    *,
    networked: bool,
    catalogue: Sequence[CredentialLocation] | None,
    private_paths: Sequence[Path],
    login_files: Sequence[tuple[Path, Path]] = (),
    login_tokens: Mapping[str, str] | None = None,
    make_folders: bool = True,
) -> Filesystem:
    """Lay out what the agent sees of the host. `workspace` and `home` are absolute
    (the workspace already checked), `program` is the command's first word (found on
    `env`'s PATH), `networked` makes the folder the proxy socket is bound in,
    `login_files` and `login_tokens` are the agent's login as the session's proxy holds
    it (sandbox.proxy.plan.NetworkPlan); `make_folders=False` plans without making
    missing `create` folders (to explain a plan, not run it). Each mount carries its
    reason (`Mounts.layers`). Raises
    PlanError when a path the policy hides holds the workspace.
    """
    why = _Why(policy)
    notices: list[str] = []
    h = str(home)

    mounts = Mounts()
    system_mounts(mounts)
    scratch_mounts(mounts, networked)
    # The agent's own settings (sandbox/agent_settings.py): a file kept directly in the
    # home needs a writable home, so the home is then a staging folder, else empty.
    settings = plan_settings(settings_for(policy.profile, None), home, session_dir, login_tokens)
    if settings.home_stage is not None:
        staged = ", ".join(sorted("~/" + Path(n).name for n in settings.staged_names))
        mounts.stage(
            str(settings.home_stage),
            h,
            f"the home is empty inside but for the agent's state ({staged}: a copy, its "
            "login tokens as placeholders, reviewed at the end)",
        )
    else:
        mounts.tmpfs(h, "the home is empty inside: nothing trusts it")
    # Scratch folders: writable, empty, discarded at the end (caches and the like).
    for pattern in policy.scratch:
        target = expand_home(pattern, home)
        if not has_magic(target):
            mounts.tmpfs(target, why.of("scratch", pattern, "scratch: empty, discarded after"))

    # Trusted paths and the workspace, shallow before deep so deeper ones cover.
    binds: list[tuple[str, str, bool, str]] = []  # (src, dest, writable, why)
    for entry in policy.trusted:
        pattern = expand_home(entry.pattern, home)
        if entry.create and make_folders and not os.path.lexists(pattern):
            os.makedirs(pattern, mode=0o700, exist_ok=True)
        reason = why.of("trusted", entry.pattern, "trusted")
        for path in expand(pattern, limit=200) if has_magic(pattern) else _existing(pattern):
            if str(path) in settings.staged_names:
                continue  # its staged copy stands there, writable and renamable
            binds.append((os.path.realpath(path), str(path), entry.mode == "rw", reason))
    private = [*private_paths, *_sandgate_folders(env, home)]
    agent_binds, agent_notices = _agent_binds(program, env, home, policy, mounts, private)
    binds += [(src, dest, w, "the agent's own program") for src, dest, w in agent_binds]
    notices += agent_notices
    binds.append((str(workspace), str(workspace), True, "the workspace"))
    git_dirs = linked_git_dirs(workspace)
    binds += [(str(d), str(d), True, "the worktree's git folder") for d in git_dirs]
    for src, dest, writable, reason in sorted(binds, key=lambda b: depth(b[1])):
        (mounts.bind if writable else mounts.ro_bind)(src, dest, reason)

    # Protected files that exist: read-only, wherever they are visible.
    protected = {
        path: why.of("protected", pattern, "protected file")
        for pattern in policy.protected
        for path in bind_targets(workspace, [pattern], home)
    }
    for git_dir in git_dirs:  # a worktree's repository: its hooks and config
        for p in (git_dir / "hooks", git_dir / "config"):
            if p.exists():
                protected.setdefault(p, "protected file: the worktree's git hooks and config")
    for path, reason in protected.items():
        if mounts.writable(str(path)):
            mounts.ro_bind(str(path), str(path), reason)

    # Denied paths, Sandgate's own folders and the host's sockets: masked if visible.
    empty = session_dir / "empty"
    if not empty.exists():
        empty.touch(mode=0o400)
    masks: dict[Path, str] = {}  # path -> why, the first reason kept
    for pattern in policy.deny:
        absolute = expand_home(pattern, home)
        reason = why.of("deny", pattern, "denied")
        if absolute.endswith("/**") and not has_magic(absolute[:-3]):
            denied = _existing(absolute[:-3])
        else:
            denied = expand(absolute, limit=1000)
        for path in denied:
            masks.setdefault(path, reason)
    for p in private:
        if os.path.lexists(p):
            masks.setdefault(Path(os.path.abspath(p)), "Sandgate's own folder")
    # Host sockets wherever a trusted path shows them, not only under the home: a
    # trusted folder in /run or /tmp may hold a D-Bus or agent socket.
    shown_trees = {d for d, _ in mounts.visible.items() if within(d, h)}
    shown_trees |= {dest for _, dest, _, _ in binds if dest != str(workspace)}
    for socket in _sockets_in(sorted(shown_trees)):
        masks.setdefault(socket, "a socket of a host program")
    if catalogue is None:
        catalogue = shipped_catalogue()
    roots = [d for d, _ in mounts.visible.items() if within(d, h) or d == str(workspace)]
    found = found_credentials(catalogue, home, workspace, roots)
    # A credential is shown as it is only where the policy's `expose` names it: trusting
    # its path, even by its exact name, still shows a decoy.
    named = {expand_home(p, home) for p in policy.expose}
    trusted = {expand_home(t.pattern, home) for t in policy.trusted if not has_magic(t.pattern)}
    shown = [(cred, path) for cred, path in found if str(path) in named]
    found = [(cred, path) for cred, path in found if str(path) not in named]
    # The agent's own login files are shown as copies with placeholders (sandbox.logins),
    # and so are its staged settings files (a console sign-in's key in ~/.claude.json).
    logins = {str(login_path) for _, login_path in login_files} | settings.staged_names
    found = [(cred, path) for cred, path in found if str(path) not in logins]
    notices += [
        f"{path} ({cred.title}) is trusted, but the agent sees a decoy there: a credential "
        "is shown as it is only if the policy names it under `expose:`"
        for cred, path in found
        if str(path) in trusted
    ]
    for cred, path in shown:
        notices.append(
            f"{path} ({cred.title}) is shown as it is: the policy exposes it, so the agent "
            "can read the real file"
        )
    for cred, path in found:
        if cred.format == "none" or not path.is_file():
            masks.setdefault(path, f"credential catalogue: {cred.title}")
    for path in sorted(masks, key=lambda p: depth(str(p))):
        if within(str(workspace), str(path)):
            raise PlanError(f"the workspace {workspace} is inside {path}, which the policy hides")
        if mounts.shows(str(path)):
            if path.is_dir() and not path.is_symlink():
                mounts.tmpfs(str(path), masks[path])
            else:
                mounts.mask_file(str(empty), str(path), masks[path])

    decoys = write_decoys(found, session_dir, canary_factory)
    titles = {str(path): cred.title for cred, path in found}
    for decoy in decoys:
        title = titles.get(str(decoy.sandbox_path), decoy.credential_id)
        mounts.decoy(
            str(decoy.host_file),
            str(decoy.sandbox_path),
            f"credential catalogue: {title} (the agent reads a fake; `expose:` shows it)",
        )
    for login_copy, login_path in login_files:
        if str(login_path) not in settings.staged_names:  # else its staged copy stands there
            mounts.bind(str(login_copy), str(login_path), "the agent's login, with placeholders")
    return Filesystem(mounts, tuple(decoys), tuple(notices), settings)


class _Why:
    """The reason a mount gives for a policy entry: its section, pattern and where it
    was written (`Policy.origins`)."""

    def __init__(self, policy: Policy) -> None:
        self.origins = policy.origins

    def of(self, section: str, pattern: str, what: str) -> str:
        where = self.origins.get(f"{section} {pattern}")
        return f"{what} — {pattern}" + (f" ({where})" if where else "")


def shipped_catalogue() -> tuple[CredentialLocation, ...]:
    """The catalogue in resources/catalogues/credentials.yaml (empty if not there)."""
    from resources import resources_dir

    path = resources_dir() / "catalogues" / "credentials.yaml"
    return load_catalogue(path) if path.exists() else ()


def _sandgate_folders(env: Mapping[str, str], home: Path) -> list[Path]:
    """Sandgate's own XDG folders for this environment: its policy, database, sessions,
    quarantine and socket must never be reachable from inside."""
    out: list[Path] = []
    for variable, default in (
        ("XDG_CONFIG_HOME", ".config"),
        ("XDG_DATA_HOME", ".local/share"),
        ("XDG_STATE_HOME", ".local/state"),
        ("XDG_CACHE_HOME", ".cache"),
    ):
        out.append(home / default / "sandgate")
        value = env.get(variable)
        if value and os.path.isabs(value):
            out.append(Path(value) / "sandgate")
    runtime = env.get("XDG_RUNTIME_DIR")
    if runtime and os.path.isabs(runtime):
        out.append(Path(runtime) / "sandgate")
    return out


def linked_git_dirs(workspace: Path) -> list[Path]:
    """When the workspace is a git worktree (`.git` is a file naming its git folder),
    the folders git needs outside it: the worktree's git folder and the repository's
    common one. Without them git cannot work inside; with them, only the repository's
    git data is shown, never its other files."""
    marker = workspace / ".git"
    if not marker.is_file() or marker.is_symlink():
        return []
    try:
        text = marker.read_text(errors="replace").strip()
    except OSError:
        return []
    if not text.startswith("gitdir:"):
        return []
    git_dir = Path(os.path.realpath(workspace / text[len("gitdir:") :].strip()))
    if not git_dir.is_dir() or within(str(git_dir), str(workspace)):
        return []
    found = [git_dir]
    try:
        common = (git_dir / "commondir").read_text().strip()
    except OSError:
        return found
    common_dir = Path(os.path.realpath(git_dir / common))
    if common_dir.is_dir() and not within(str(git_dir), str(common_dir)):
        found.append(common_dir)
    elif common_dir.is_dir():
        found = [common_dir]  # the worktree's folder lies inside the common one
    return found


def _existing(path: str) -> list[Path]:
    return [Path(path)] if os.path.lexists(path) else []


def _agent_binds(
    program: str,
    env: Mapping[str, str],
    home: Path,
    policy: Policy,
    mounts: Mounts,
    private: Sequence[Path],
) -> tuple[list[tuple[str, str, bool]], list[str]]:
    """The agent's executable, interpreter and install folder where the sandbox would
    not show them (read-only), and a notice for each folder shown."""
    trusted = [expand_home(t.pattern, home) for t in policy.trusted if not has_magic(t.pattern)]

    def hidden(path: str) -> bool:
        return not mounts.shows(path) and not any(within(path, t) for t in trusted)

    def denied(path: str) -> str | None:
        for pattern in policy.deny:
            absolute = expand_home(pattern, home)
            if matches(absolute, path) or (
                absolute.endswith("/**") and within(path, absolute[:-3])
            ):
                return f"deny: {pattern}"
        folder = next((p for p in private if within(path, str(p))), None)
        return None if folder is None else f"{folder} is Sandgate's own"

    try:
        located = locate(program, env, home, hidden, denied)
    except AgentNotFound as exc:
        raise PlanError(str(exc)) from exc
    return [(src, dest, False) for src, dest in located.binds], list(located.notices)


def _sockets_in(folders: Sequence[str], limit: int = 3000) -> list[Path]:
    """Unix sockets a few levels down in visible home folders (an agent's folder may
    hold a live socket of a host program)."""
    found: list[Path] = []
    seen = 0
    for folder in folders:
        try:
            if stat.S_ISSOCK(os.lstat(folder).st_mode):  # a socket trusted by its name
                found.append(Path(folder))
                continue
        except OSError:
            continue
        stack = [(folder, 0)]
        while stack and seen < limit:
            current, level = stack.pop()
            try:
                with os.scandir(current) as it:
                    for item in it:
                        seen += 1
                        if stat.S_ISSOCK(item.stat(follow_symlinks=False).st_mode):
                            found.append(Path(item.path))
                        elif item.is_dir(follow_symlinks=False) and level < 2:
                            stack.append((item.path, level + 1))
            except OSError:
                continue
    return found
