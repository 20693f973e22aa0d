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

The mounts are laid out by sandbox/filesystem.py; this module adds the environment,
the proxy's socket and the command line around them.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from sandbox.agent_settings import SettingsPlan
from sandbox.bwrap import (
    CHANNEL_FILE,
    SANDBOX_CA_BUNDLE,
    SANDBOX_CHANNEL_SOCKET,
    SANDBOX_PROXY_SOCKET,
    SANDBOX_SOCKET_DIR,
    Mounts,
    within,
)
from sandbox.decoys import CanaryFactory, CredentialLocation, Decoy
from sandbox.environment import clean_environment
from sandbox.filesystem import PlanError, plan_filesystem
from sandbox.memory import memory_paths
from sandbox.policy import Policy
from sandbox.preflight import read_sysctls
from sandbox.protect import ProtectedSnapshot, snapshot
from sandbox.seccomp import tiocsti_filter

__all__ = ["NetworkPlan", "PlanError", "SandboxPlan", "build_plan"]


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
    settings: SettingsPlan = field(default_factory=SettingsPlan)  # sandbox/agent_settings.py

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
    h = str(home)
    filesystem = plan_filesystem(
        policy,
        workspace,
        home,
        session_dir,
        command[0],
        env,
        canary_factory,
        networked=network is not None,
        catalogue=catalogue,
        private_paths=private_paths,
        # The agent's login files (sandbox.proxy.plan.NetworkPlan.login_files), if any.
        login_files=getattr(network, "login_files", ()),
        login_tokens=getattr(network, "login_tokens", None),
    )
    mounts = filesystem.mounts
    notices = list(filesystem.notices)

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
    if (session_dir / CHANNEL_FILE).exists():
        _channel(mounts, session_dir / CHANNEL_FILE, workspace, home, private_paths)
        child_env["SANDGATE_CHANNEL"] = SANDBOX_CHANNEL_SOCKET
    given = [n for n in clean.removed if n in getattr(network, "placeholders", ())]
    # A name the sandbox sets itself (AWS_CA_BUNDLE, pointed at the proxy's bundle) was
    # replaced, not withheld: only what the agent really goes without is listed.
    dropped = [n for n in clean.removed if n not in given and n not in child_env]
    if given:
        notices.append(
            "the agent holds placeholders for " + ", ".join(given) + ": the proxy sends "
            "the real values to their vendor's endpoints only"
        )
    if dropped:
        notices.append(
            "not passed into the sandbox: " + ", ".join(dropped) + " (an agent's own API "
            "key passes as a placeholder when its profile names it in `logins`, or after "
            "`sandgate credential add NAME`)"
        )

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
        *(("--remount-ro", h) if filesystem.settings.home_stage is None else ()),
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
        decoys=filesystem.decoys,
        memory_files=tuple(memory_paths(workspace, policy.memory, home)),
        protected_snapshot=snapshot(workspace, policy.protected, home),
        cwd=cwd,
        removed_env=clean.removed,
        notices=tuple(notices),
        visible=dict(mounts.visible),
        settings=filesystem.settings,
    )


def _channel(
    mounts: Mounts, socket: Path, workspace: Path, home: Path, private: Sequence[Path]
) -> None:
    """The session's channel to the service, for the agent's permission hook, and
    Sandgate's own program read-only so that the hook can run inside. An install that
    would cover the workspace or the home, or hold Sandgate's private folders, is not
    shown (the hook then cannot run, and the agent fails closed)."""
    mounts.dir(SANDBOX_SOCKET_DIR)
    mounts.bind(str(socket), SANDBOX_CHANNEL_SOCKET)
    source = Path(__file__).resolve().parents[1]
    # The interpreter's own installation too: a virtual environment only links to it.
    installs = [sys.prefix, sys.base_prefix, str(source)]
    if getattr(sys, "frozen", False):
        # A frozen bundle (PyInstaller): the hook runs the bundle's own program, which
        # sits beside its library folder (sys.prefix), not in it.
        installs.insert(0, os.path.dirname(sys.executable))
    for path in dict.fromkeys(os.path.realpath(p) for p in installs):
        if (
            mounts.shows(path)
            or within(str(workspace), path)
            or within(str(home), path)
            or any(within(os.path.realpath(p), path) for p in private)
        ):
            continue
        mounts.ro_bind(path, path)


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


def _cwd(env: Mapping[str, str], workspace: Path) -> Path:
    pwd = env.get("PWD")
    if pwd and os.path.isabs(pwd):
        real = os.path.realpath(pwd)
        if within(real, str(workspace)) and os.path.isdir(real):
            return Path(real)
    return workspace


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
        # nodelay: without it streamed responses stall ~40 ms per write (Nagle plus
        # delayed ACK); a large buffer doubles downloads; backlog 5 drops bursts.
        # Then wait until the relay listens, so the agent's first request lands: the
        # loop reads /proc/net/tcp with shell builtins only (no grep, no sleep: forking
        # them cost ~10 ms of every start) and gives up after a bounded number of reads.
        listening = f"0100007F:{port:04X}"
        script = (
            f"socat -b 262144 TCP-LISTEN:{port},bind=127.0.0.1,fork,reuseaddr,nodelay,"
            "backlog=128 "
            f"UNIX-CONNECT:{SANDBOX_PROXY_SOCKET} & "
            "i=0; while [ $i -lt 20000 ]; do "
            "while read -r _ local _ st _; do "
            f'[ "$local" = {listening} ] && [ "$st" = 0A ] && break 2; '
            "done < /proc/net/tcp; i=$((i+1)); done; "
            'exec "$@"'
        )
        inner = ["/bin/sh", "-c", script, "sandgate-relay", *inner]
    if _env_default_signal():
        inner = ["/usr/bin/env", "--default-signal=INT,QUIT", "--", *inner]
    return inner
