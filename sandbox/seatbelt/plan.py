"""From a policy and a command to the `sandbox-exec` command line that runs it.

The same inputs as the bubblewrap plan (sandbox/plan.py) and the same `SandboxPlan`
out, so the service does not know which backend runs. What differs, because Seatbelt
filters access where bubblewrap rebuilds the view:

- The home is not replaced by an empty folder: reads and writes in it are refused
  except for the trusted paths. Scratch folders cannot be fresh and empty, so the XDG
  ones are pointed (by variable) at a private folder of the session, and `TMPDIR` too.
- No decoy can stand at a credential location (nothing can be mounted over a file).
  Every catalogue pattern is refused by the profile instead, whether a file exists
  there or not, and the refusal reaches the system log, where
  sandbox/seatbelt/violations.py reads it back as a `file.read` event of the session:
  triage's credential rules see the attempt, but no canary is planted, so
  `plan.decoys` and `plan.canaries` are empty.
- There is no network namespace: the sandbox shares the host's loopback. Only the
  session's proxy port is allowed, and the relay inside binds that one port.

Pure apart from what it must do on the host: it makes the session's private folders,
creates missing trusted folders marked `create`, reads which protected and memory
files exist, and writes the profile into `session_dir` when it is too long for the
command line. It starts nothing.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from sandbox.agent_settings import settings_for
from sandbox.bwrap import CHANNEL_FILE, SANDBOX_CA_BUNDLE, within
from sandbox.decoys import CanaryFactory, CredentialLocation
from sandbox.environment import clean_environment
from sandbox.filesystem import (
    PlanError,
    _sandgate_folders,
    linked_git_dirs,
    shipped_catalogue,
)
from sandbox.memory import memory_paths
from sandbox.patterns import expand_home
from sandbox.plan import NetworkPlan, SandboxPlan
from sandbox.policy import Policy
from sandbox.protect import snapshot
from sandbox.seatbelt.profile import ProfileSpec, render
from sandbox.seatbelt.sbpl import (
    ProfileError,
    ancestors,
    filters,
    literal,
    resolve,
    split,
    subpath,
)

SANDBOX_EXEC = "/usr/bin/sandbox-exec"
# A profile longer than this goes through a file (`-f`): the command line shares its
# limit with the environment, and an agent's environment can be large.
ARG_LIMIT = 32 * 1024
PROFILE_FILE = "seatbelt.sb"

# XDG folders the policy lists as scratch, and the variable that moves each one.
_XDG_SCRATCH = {
    "~/.cache": "XDG_CACHE_HOME",
    "~/.config": "XDG_CONFIG_HOME",
    "~/.local/share": "XDG_DATA_HOME",
    "~/.local/state": "XDG_STATE_HOME",
}
_SYSTEM = ("/", "/usr", "/bin", "/sbin", "/etc", "/System", "/Library", "/Applications")


def session_tag(session_dir: Path) -> str:
    """The word every denial of this session's profile carries in the system log."""
    digest = hashlib.sha256(str(session_dir).encode()).hexdigest()[:16]
    return f"sandgate-{digest}"


def build_seatbelt_plan(
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
    sandbox_exec: str | None = None,
    trustd: bool = False,
) -> SandboxPlan:
    """Plan one session under Seatbelt (arguments as for `sandbox.plan.build_plan`).

    `canary_factory` is accepted for the shared interface and not called: no decoy is
    written on macOS. `trustd` lets Go programs verify TLS certificates, at the price
    of a way out through trustd's own fetches (off unless the user asks).
    """
    del canary_factory  # no decoys under Seatbelt (see the module docstring)
    if not command:
        raise PlanError("no command to run")
    try:
        return _plan(
            policy,
            _check_workspace(workspace, home),
            Path(os.path.abspath(home)),
            session_dir,
            command,
            env,
            network,
            shipped_catalogue() if catalogue is None else catalogue,
            tty,
            private_paths,
            sandbox_exec or SANDBOX_EXEC,
            trustd,
        )
    except ProfileError as exc:
        raise PlanError(str(exc)) from None


def _plan(
    policy: Policy,
    workspace: Path,
    home: Path,
    session_dir: Path,
    command: Sequence[str],
    env: Mapping[str, str],
    network: NetworkPlan | None,
    catalogue: Sequence[CredentialLocation],
    tty: bool,
    private_paths: Sequence[Path],
    sandbox_exec: str,
    trustd: bool,
) -> SandboxPlan:
    session_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    notices: list[str] = []
    ws = str(workspace)
    home_real = os.path.realpath(home)
    shown: set[str] = {ws, home_real}
    visible: dict[str, bool] = {ws: True}

    readable: list[str] = []
    writable: list[str] = [subpath(ws)]
    roots = [ws]  # writable trees, where relative protected patterns apply
    for entry in policy.trusted:
        pattern = expand_home(entry.pattern, home)
        if entry.create and not os.path.lexists(pattern):
            os.makedirs(pattern, mode=0o700, exist_ok=True)
        base, rest = _where(entry.pattern, home, ws)
        rw = entry.mode == "rw"
        (writable if rw else readable).extend(filters(base, rest, deny=False))
        shown.add(base)
        if not rest:
            visible[base] = rw
            if rw and not os.path.isfile(base):
                roots.append(base)
    for path in _executable(command[0], env, home):
        readable.append(literal(path))
        shown.add(path)
    git_dirs = linked_git_dirs(workspace)
    for git_dir in git_dirs:
        writable.append(subpath(str(git_dir)))
        roots.append(str(git_dir))
        shown.add(str(git_dir))
        visible[str(git_dir)] = True

    private = [os.path.realpath(p) for p in (*private_paths, *_sandgate_folders(env, home))]
    for folder in private:
        if within(ws, folder):
            raise PlanError(f"the workspace {workspace} is inside {folder}, which the policy hides")

    clean = clean_environment(env, policy.env)
    child_env = dict(clean.env)
    child_env["HOME"] = str(home)
    cwd = _cwd(env, workspace)
    child_env["PWD"] = str(cwd)
    session_rw = _scratch(policy, session_dir, child_env, notices)

    unix_sockets: list[str] = []
    session_ro: list[str] = []
    if network is not None:
        unix_sockets.append(os.path.realpath(network.host_socket))
        child_env.update(network.env)
        if network.ca_bundle is not None:
            # Nothing is bound on macOS: the variables name the bundle where it lies.
            bundle = os.path.realpath(network.ca_bundle)
            session_ro.append(literal(bundle))
            for name, value in list(child_env.items()):
                if value == SANDBOX_CA_BUNDLE:
                    child_env[name] = bundle
        if not trustd:
            notices.append(
                "Go programs cannot verify TLS certificates in this sandbox: trustd, "
                "which they need, fetches URLs outside it"
            )
    channel = session_dir / CHANNEL_FILE
    if channel.exists():
        unix_sockets.append(os.path.realpath(channel))
        child_env["SANDGATE_CHANNEL"] = str(channel)
        readable += _installs(workspace, home, private)

    hidden, locked = _hidden(policy, catalogue, home, roots, notices)
    protected = _protected(policy, home, roots, git_dirs)
    for pattern in policy.deny:
        base, rest = _where(pattern, home, ws)
        if rest in ("", "**") and within(ws, base):
            raise PlanError(f"the workspace {workspace} is inside {base}, which the policy hides")

    metadata = sorted({a for path in shown for a in ancestors(path + "/x", "/")} - {"/"})
    spec = ProfileSpec(
        tag=session_tag(session_dir),
        readable=tuple(dict.fromkeys(readable)),
        writable=tuple(dict.fromkeys(writable)),
        metadata=tuple(literal(a) for a in metadata),
        private=tuple(subpath(p) for p in dict.fromkeys(private)),
        session_rw=tuple(session_rw),
        session_ro=tuple(session_ro),
        session_folders=tuple(
            literal(a) for a in sorted({a for p in unix_sockets for a in ancestors(p, "/")} - {"/"})
        ),
        hidden=tuple(dict.fromkeys(hidden)),
        protected=tuple(dict.fromkeys(protected)),
        locked=tuple(literal(p) for p in sorted(set(locked))),
        unix_sockets=tuple(dict.fromkeys(unix_sockets)),
        proxy_port=int(network.port) if network is not None else None,
        tty=tty,
        trustd=trustd,
    )
    if tty:
        notices.append(
            "macOS has no TIOCSTI filter: the agent could type into your terminal "
            "(run without a terminal to stop it)"
        )
    withheld = [name for name in clean.removed if name not in child_env]
    if withheld:
        notices.append("not passed into the sandbox: " + ", ".join(withheld))
    argv = [*_profile_args(sandbox_exec, render(spec), session_dir), *_inner(command, network)]
    return SandboxPlan(
        argv=tuple(argv),
        env=child_env,
        decoys=(),
        memory_files=tuple(memory_paths(workspace, policy.memory, home)),
        protected_snapshot=snapshot(workspace, policy.protected, home),
        cwd=cwd,
        removed_env=clean.removed,
        notices=tuple(notices),
        visible=visible,
    )


def _profile_args(sandbox_exec: str, text: str, session_dir: Path) -> list[str]:
    """`-p TEXT`, or `-f FILE` for a profile too long to pass as an argument."""
    if len(text.encode()) <= ARG_LIMIT:
        return [sandbox_exec, "-p", text]
    path = session_dir / PROFILE_FILE
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
    return [sandbox_exec, "-f", str(path)]


def _hidden(
    policy: Policy,
    catalogue: Sequence[CredentialLocation],
    home: Path,
    roots: Sequence[str],
    notices: list[str],
) -> tuple[list[str], list[str]]:
    """Filters refusing the policy's denied paths and every credential location, and
    the folders inside writable trees that hold one (so none can be moved away)."""
    # As on Linux: only `expose` shows a credential as it is, never trusting its path;
    # and the agent's state file in the home (~/.claude.json), which Linux shows as a
    # copy with its login tokens as placeholders: Seatbelt can show no copy, so the real
    # file, or the agent would lose its state.
    named = {expand_home(p, home) for p in policy.expose}
    state = {
        expand_home(f.pattern, home)
        for f in settings_for(policy.profile, None)
        if f.pattern.startswith("~/") and "/" not in f.pattern[2:]
    }
    out: list[str] = []
    fixed: list[str] = []
    for pattern in policy.deny:
        base, rest = _where(pattern, home, roots[0])
        out += filters(base, rest, deny=True)
        fixed.append(base + "/-" if rest else base)
    for entry in catalogue:
        for pattern in entry.paths:
            if pattern.startswith(("~", "/")):
                absolute = expand_home(pattern, home)
                if absolute in state and absolute not in named:
                    notices.append(
                        f"{absolute} ({entry.title}) is shown as it is on macOS: the agent "
                        "keeps its state there, and a key saved in it is readable inside"
                    )
                    continue
                if absolute in named:
                    notices.append(
                        f"{absolute} ({entry.title}) is shown as it is: the policy exposes "
                        "it, so the agent can read the real file"
                    )
                    continue
                base, rest = _where(pattern, home, roots[0])
                out += filters(base, rest, deny=True)
                fixed.append(base + "/-" if rest else base)
            else:
                out += _relative(pattern, roots)
    locked = [
        a for path in fixed for root in roots if within(path, root) for a in ancestors(path, root)
    ]
    return out, locked


def _protected(
    policy: Policy, home: Path, roots: Sequence[str], git_dirs: Sequence[Path]
) -> list[str]:
    """Filters refusing writes to protected files: `~/` patterns where they say,
    relative ones under every writable tree (the workspace and read-write trusted
    paths alike), and a linked worktree's git hooks and config."""
    out: list[str] = []
    for pattern in policy.protected:
        if pattern.startswith("~"):
            out += filters(*_where(pattern, home, roots[0]), deny=True)
        else:
            out += _relative(pattern, roots)
    for git_dir in git_dirs:
        out += [subpath(str(git_dir / "hooks")), literal(str(git_dir / "config"))]
    return out


def _relative(pattern: str, roots: Sequence[str]) -> list[str]:
    """Deny filters for a pattern without `~` or `/`: a leading `**/` matches at any
    depth anywhere on the disk (never only under the workspace); any other applies
    under each writable root."""
    if pattern.startswith("**/"):
        return filters("/", pattern, deny=True)
    out: list[str] = []
    for root in roots:
        out += filters(*split(root, pattern), deny=True)
    return out


def _where(pattern: str, home: Path, workspace: str) -> tuple[str, str]:
    """A policy pattern as (resolved folder, wildcard remainder); a relative one is
    under the workspace."""
    found = resolve(pattern, str(home))
    return found if found is not None else split(workspace, pattern)


def _scratch(
    policy: Policy, session_dir: Path, env: dict[str, str], notices: list[str]
) -> list[str]:
    """The session's own writable folders: a private TMPDIR, and XDG scratch folders
    moved into it by their variables (Seatbelt cannot show an empty folder in place)."""
    tmp = session_dir / "tmp"
    tmp.mkdir(exist_ok=True, mode=0o700)
    env["TMPDIR"] = str(tmp) + "/"
    out = [subpath(os.path.realpath(tmp))]
    elsewhere: list[str] = []
    for pattern in policy.scratch:
        variable = _XDG_SCRATCH.get(pattern.rstrip("/"))
        if variable is None:
            elsewhere.append(pattern)
            continue
        folder = session_dir / "scratch" / variable.lower()
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        env[variable] = str(folder)
        out.append(subpath(os.path.realpath(folder)))
    if elsewhere:
        notices.append("scratch folders not available under Seatbelt: " + ", ".join(elsewhere))
    return out


def _installs(workspace: Path, home: Path, private: Sequence[str]) -> list[str]:
    """Sandgate's program and its interpreter, read-only, for the agent's hook."""
    source = Path(__file__).resolve().parents[2]
    out: list[str] = []
    for path in dict.fromkeys(os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, source)):
        if (
            within(str(workspace), path)
            or within(os.path.realpath(home), path)
            or any(within(p, path) for p in private)
        ):
            continue
        out.append(subpath(path))
    return out


def _executable(program: str, env: Mapping[str, str], home: Path) -> list[str]:
    """The agent's own executable when it lives in the hidden home (read-only)."""
    found = shutil.which(program, path=env.get("PATH")) if "/" not in program else program
    if not found:
        return []
    found = os.path.abspath(found)
    real = os.path.realpath(found)
    home_real = os.path.realpath(home)
    return [p for p in dict.fromkeys((found, real)) if within(p, home_real) and os.path.exists(p)]


def _check_workspace(workspace: Path, home: Path) -> Path:
    real = Path(os.path.realpath(workspace))
    if not real.is_dir():
        raise PlanError(f"the workspace {workspace} is not a folder")
    if within(os.path.realpath(home), str(real)):
        raise PlanError(
            f"the workspace {real} holds your whole home folder; run Sandgate in a project "
            "folder instead"
        )
    for system in (*_SYSTEM, "/private/etc", "/private/var/db", "/dev"):
        if str(real) == system or (system != "/" and within(str(real), system)):
            raise PlanError(f"the workspace {real} is a system folder")
    return real


def _cwd(env: Mapping[str, str], workspace: Path) -> Path:
    pwd = env.get("PWD")
    if pwd and os.path.isabs(pwd):
        real = os.path.realpath(pwd)
        if within(real, str(workspace)) and os.path.isdir(real):
            return Path(real)
    return workspace


def _inner(command: Sequence[str], network: NetworkPlan | None) -> list[str]:
    """The command as run inside, the proxy relay started first when networked."""
    if network is None:
        return list(command)
    port = int(network.port)
    folder, name = os.path.split(str(network.host_socket))
    # socat reads `,`, `:` and quotes in an address as its own syntax: it is started in
    # the socket's folder (passed as an argument, so any name is safe) and given only
    # the socket's own name, which the proxy chooses.
    if any(c in name for c in ",:!'\"\\ ") or not name:
        raise PlanError(f"the proxy socket {network.host_socket} cannot be named to socat")
    # No /proc to watch on macOS: wait (bounded) until the relay answers on its port.
    script = (
        'dir=$1; shift; (cd "$dir" && exec socat -b 262144 '
        f"TCP-LISTEN:{port},bind=127.0.0.1,fork,reuseaddr,nodelay,backlog=128 "
        f"UNIX-CONNECT:{name}) & "
        "i=0; while [ $i -lt 500 ]; do "
        f"nc -z 127.0.0.1 {port} 2>/dev/null && break; sleep 0.01; i=$((i+1)); done; "
        'exec "$@"'
    )
    return ["/bin/sh", "-c", script, "sandgate-relay", folder, *command]
