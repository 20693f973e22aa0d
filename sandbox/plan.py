"""From a policy and a command to the bwrap command line that runs it (`build_plan`).

Pure apart from three things it must do on the host: it writes the session's decoys
(and an empty file used to mask denied files, and the seccomp filter) into
`session_dir`, creates missing read-write trusted folders marked `create`, and reads
which credential, protected and memory files exist. It starts nothing.

The boundary, in bwrap terms: every namespace unshared (no network, a new PID
namespace, a user namespace in which the agent may not create another), no
capabilities, the sandbox killed with its parent, system folders read-only, private
/tmp, /var and /run, an empty home holding only trusted paths, the workspace
read-write with protected files read-only inside it, denied paths masked, decoys over
credential locations. Without a terminal the agent also gets a new session (so it
cannot push keystrokes into the user's terminal with TIOCSTI); with one it keeps the
terminal for job control and a seccomp filter refuses TIOCSTI instead.
"""

from __future__ import annotations

import functools
import os
import shutil
import stat
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from sandbox.bwrap import (
    SANDBOX_CA_BUNDLE,
    SANDBOX_PROXY_SOCKET,
    Mounts,
    depth,
    scratch_mounts,
    system_mounts,
    within,
)
from sandbox.decoys import (
    CanaryFactory,
    CredentialLocation,
    Decoy,
    found_credentials,
    load_catalogue,
    write_decoys,
)
from sandbox.environment import clean_environment
from sandbox.memory import memory_paths
from sandbox.patterns import expand, expand_home, has_magic
from sandbox.policy import Policy
from sandbox.preflight import read_sysctls
from sandbox.protect import ProtectedSnapshot, bind_targets, snapshot
from sandbox.seccomp import tiocsti_filter


class PlanError(Exception):
    """The session cannot be planned as asked (the message says why)."""


class NetworkPlan(Protocol):
    """What the egress proxy hands over (sandbox/proxy builds the concrete one)."""

    @property
    def host_socket(self) -> Path: ...
    @property
    def port(self) -> int: ...
    @property
    def env(self) -> Mapping[str, str]: ...
    @property
    def ca_bundle(self) -> Path | None: ...


@dataclass(frozen=True)
class SandboxPlan:
    """Everything needed to start one session and watch it.

    `argv` is the complete command line to execute with `env` as its environment.
    Because the agent shares the caller's process group (so that a terminal's job
    control reaches it), the caller must start `argv` with SIGINT and SIGQUIT ignored:
    bwrap's own process would otherwise die on Ctrl-C and take the sandbox with it.
    The agent gets them back at their defaults inside.
    """

    argv: tuple[str, ...]
    env: Mapping[str, str]
    decoys: tuple[Decoy, ...]
    memory_files: tuple[Path, ...]
    protected_snapshot: ProtectedSnapshot
    cwd: Path
    removed_env: tuple[str, ...] = ()
    notices: tuple[str, ...] = ()
    visible: Mapping[str, bool] = field(default_factory=dict)

    @property
    def canaries(self) -> tuple[str, ...]:
        return tuple(d.canary for d in self.decoys)


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
    bwrap: str | None = None,
) -> SandboxPlan:
    """Plan one session: the bwrap command line, its environment, the decoys written
    into `session_dir`, the memory files to watch and a snapshot of the protected files.

    `catalogue` is the credential catalogue (None: the shipped one); `tty` says whether
    the agent keeps the caller's terminal (False gives it a new session); `private_paths`
    are Sandgate's own folders, hidden even inside trusted paths (the XDG ones found
    from `env` and `home` are always added).
    """
    if not command:
        raise PlanError("no command to run")
    workspace = _check_workspace(workspace, home)
    home = Path(os.path.abspath(home))
    session_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    notices: list[str] = []
    h = str(home)

    mounts = Mounts()
    system_mounts(mounts)
    scratch_mounts(mounts, network is not None)
    mounts.tmpfs(h)
    # Scratch folders: writable, empty, discarded at the end (caches and the like).
    for pattern in policy.scratch:
        target = expand_home(pattern, home)
        if not has_magic(target):
            mounts.tmpfs(target)

    # Trusted paths and the workspace, shallow before deep so deeper ones cover.
    binds: list[tuple[str, str, bool]] = []  # (src, dest, writable)
    for entry in policy.trusted:
        pattern = expand_home(entry.pattern, home)
        if entry.create and not os.path.lexists(pattern):
            os.makedirs(pattern, mode=0o700, exist_ok=True)
        for path in expand(pattern, limit=200) if has_magic(pattern) else _existing(pattern):
            binds.append((os.path.realpath(path), str(path), entry.mode == "rw"))
    binds += _executable_binds(command[0], env, home)
    binds.append((str(workspace), str(workspace), True))
    git_dirs = linked_git_dirs(workspace)
    binds += [(str(d), str(d), True) for d in git_dirs]
    for src, dest, writable in sorted(binds, key=lambda b: depth(b[1])):
        (mounts.bind if writable else mounts.ro_bind)(src, dest)

    # Protected files that exist: read-only, wherever they are visible.
    protected = bind_targets(workspace, policy.protected, home)
    for git_dir in git_dirs:  # a worktree's repository: its hooks and config
        protected += [p for p in (git_dir / "hooks", git_dir / "config") if p.exists()]
    for path in protected:
        if mounts.writable(str(path)):
            mounts.ro_bind(str(path), str(path))

    # Denied paths, Sandgate's own folders and the host's sockets: masked if visible.
    empty = session_dir / "empty"
    if not empty.exists():
        empty.touch(mode=0o400)
    masks: list[Path] = []
    for pattern in policy.deny:
        absolute = expand_home(pattern, home)
        if absolute.endswith("/**") and not has_magic(absolute[:-3]):
            masks += _existing(absolute[:-3])
        else:
            masks += expand(absolute, limit=1000)
    private = [*private_paths, *_sandgate_folders(env, home)]
    masks += [Path(os.path.abspath(p)) for p in private if os.path.lexists(p)]
    masks += _sockets_in([d for d, _ in mounts.visible.items() if within(d, h)])
    if catalogue is None:
        catalogue = shipped_catalogue()
    roots = [d for d, _ in mounts.visible.items() if within(d, h) or d == str(workspace)]
    found = found_credentials(catalogue, home, workspace, roots)
    # A credential file the policy trusts by its exact name is shown as it is.
    named = {expand_home(t.pattern, home) for t in policy.trusted if not has_magic(t.pattern)}
    shown = [(cred, path) for cred, path in found if str(path) in named]
    found = [(cred, path) for cred, path in found if str(path) not in named]
    for cred, path in shown:
        notices.append(f"{path} ({cred.title}) is shown as it is: the policy trusts it by name")
    masks += [path for cred, path in found if cred.format == "none" or not path.is_file()]
    for path in sorted(set(masks), key=lambda p: depth(str(p))):
        if within(str(workspace), str(path)):
            raise PlanError(f"the workspace {workspace} is inside {path}, which the policy hides")
        if mounts.shows(str(path)):
            if path.is_dir() and not path.is_symlink():
                mounts.tmpfs(str(path))
            else:
                mounts.mask_file(str(empty), str(path))

    decoys = write_decoys(found, session_dir, canary_factory)
    for decoy in decoys:
        mounts.mask_file(str(decoy.host_file), str(decoy.sandbox_path))

    clean = clean_environment(env, policy.env)
    child_env = dict(clean.env)
    child_env["HOME"] = h
    child_env.pop("TMPDIR", None)
    cwd = _cwd(env, workspace)
    child_env["PWD"] = str(cwd)
    if network is not None:
        mounts.bind(str(network.host_socket), SANDBOX_PROXY_SOCKET)
        if network.ca_bundle is not None:
            mounts.ro_bind(str(network.ca_bundle), SANDBOX_CA_BUNDLE)
        child_env.update(network.env)
    if clean.removed:
        notices.append("not passed into the sandbox: " + ", ".join(clean.removed))

    bwrap_path = bwrap or shutil.which("bwrap") or "bwrap"
    flags = [
        "--unshare-all",
        "--unshare-user",
        "--disable-userns",
        "--cap-drop",
        "ALL",
        "--die-with-parent",
        "--hostname",
        "sandgate",
    ]
    prefix: list[str] = []
    if not _env_default_signal():
        notices.append(
            "/usr/bin/env cannot reset signals (coreutils 8.31+ can): Ctrl-C and Ctrl-\\ "
            "will not reach the agent"
        )
    if not tty:
        flags.append("--new-session")
    elif read_sysctls().get("dev.tty.legacy_tiocsti", 1) != 0:
        program = tiocsti_filter()
        if program is None:
            notices.append(
                "no TIOCSTI filter for this machine; the agent could type into "
                "your terminal (set dev.tty.legacy_tiocsti=0 to stop it)"
            )
        else:
            bpf = session_dir / "tiocsti.bpf"
            bpf.write_bytes(program)
            # The filter reaches bwrap as fd 3, opened by a shell so argv stays a plain
            # command line that any caller can execute.
            prefix = ["/bin/sh", "-c", 'exec 3<"$0" && exec "$@"', str(bpf)]
            flags += ["--seccomp", "3"]
    # Last: the home and the root read-only, so only the mounts made writable above are.
    argv = [
        *prefix,
        bwrap_path,
        *flags,
        *mounts.args,
        "--remount-ro",
        h,
        "--remount-ro",
        "/",
        "--chdir",
        str(cwd),
        "--",
        *_inner(command, network),
    ]
    return SandboxPlan(
        argv=tuple(argv),
        env=child_env,
        decoys=tuple(decoys),
        memory_files=tuple(memory_paths(workspace, policy.memory, home)),
        protected_snapshot=snapshot(workspace, policy.protected, home),
        cwd=cwd,
        removed_env=clean.removed,
        notices=tuple(notices),
        visible=dict(mounts.visible),
    )


def _check_workspace(workspace: Path, home: Path) -> Path:
    real = Path(os.path.realpath(workspace))
    if not real.is_dir():
        raise PlanError(f"the workspace {workspace} is not a folder")
    home_real = os.path.realpath(home)
    if within(home_real, str(real)):
        raise PlanError(
            f"the workspace {real} holds your whole home folder; run Sandgate in a project "
            "folder instead"
        )
    for system in ("/usr", "/etc", "/bin", "/sbin", "/lib", "/boot", "/proc", "/sys", "/dev"):
        if within(str(real), system):
            raise PlanError(f"the workspace {real} is a system folder")
    return real


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


def _cwd(env: Mapping[str, str], workspace: Path) -> Path:
    pwd = env.get("PWD")
    if pwd and os.path.isabs(pwd):
        real = os.path.realpath(pwd)
        if within(real, str(workspace)) and os.path.isdir(real):
            return Path(real)
    return workspace


def _executable_binds(
    program: str, env: Mapping[str, str], home: Path
) -> list[tuple[str, str, bool]]:
    """The agent's own executable when it lives in the hidden home (read-only)."""
    found = shutil.which(program, path=env.get("PATH")) if "/" not in program else program
    if not found:
        return []
    found = os.path.abspath(found)
    real = os.path.realpath(found)
    out: list[tuple[str, str, bool]] = []
    for path in dict.fromkeys((found, real)):
        if within(path, str(home)) and os.path.exists(path):
            out.append((real, path, False))
    return out


def _sockets_in(folders: Sequence[str], limit: int = 3000) -> list[Path]:
    """Unix sockets a few levels down in visible home folders (an agent's folder may
    hold a live socket of a host program)."""
    found: list[Path] = []
    seen = 0
    for folder in folders:
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


@functools.lru_cache(maxsize=1)
def _env_default_signal() -> bool:
    """Whether /usr/bin/env can reset signals (coreutils 8.31+)."""
    try:
        done = subprocess.run(
            ["/usr/bin/env", "--default-signal=INT", "true"],
            capture_output=True,
            timeout=5,
            check=False,
        )
    except OSError:
        return False
    return done.returncode == 0


def _inner(command: Sequence[str], network: NetworkPlan | None) -> list[str]:
    """The command as run inside: signals reset, and the proxy relay started first."""
    inner = list(command)
    if network is not None:
        port = int(network.port)
        # Wait (up to 2 s) until the relay listens, so the agent's first request lands.
        # nodelay: without it streamed responses stall ~40 ms per write (Nagle plus
        # delayed ACK); a large buffer doubles downloads; backlog 5 drops bursts.
        script = (
            f"socat -b 262144 TCP-LISTEN:{port},bind=127.0.0.1,fork,reuseaddr,nodelay,"
            "backlog=128 "
            f"UNIX-CONNECT:{SANDBOX_PROXY_SOCKET} & "
            f"i=0; while [ $i -lt 200 ] && ! grep -q ':{port:04X} 00000000:0000 0A' "
            "/proc/net/tcp 2>/dev/null; do sleep 0.01; i=$((i+1)); done; "
            'exec "$@"'
        )
        inner = ["/bin/sh", "-c", script, "sandgate-relay", *inner]
    if _env_default_signal():
        inner = ["/usr/bin/env", "--default-signal=INT,QUIT", "--", *inner]
    return inner
