"""Can this machine run the sandbox? If not, say exactly why and how to fix it.

Sandgate never runs an agent unsandboxed: `check_bwrap` either returns or raises
`SandboxUnavailable` with a message a person can act on. The host facts it reads are
gathered by `probe_host()` into a `HostProbe`, so tests can inject any machine.
"""

from __future__ import annotations

import os
import re
from types import MappingProxyType

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

MIN_BWRAP = (0, 8, 0)  # --disable-userns
_SYSCTLS = {
    "kernel.unprivileged_userns_clone": "/proc/sys/kernel/unprivileged_userns_clone",
    "user.max_user_namespaces": "/proc/sys/user/max_user_namespaces",
    "kernel.apparmor_restrict_unprivileged_userns": (
        "/proc/sys/kernel/apparmor_restrict_unprivileged_userns"
    ),
    "dev.tty.legacy_tiocsti": "/proc/sys/dev/tty/legacy_tiocsti",
}


class SandboxUnavailable(Exception):
    """The sandbox cannot start here; the message says why and how to fix it."""


class HostProbe:
    """What preflight needs to know about the host.

    `trial_error` is the error text of a trial `bwrap --unshare-user` run, None when it
    worked and "" when no trial was made. `bwrap_setuid` marks a setuid-root bwrap,
    which does not depend on unprivileged user namespaces. (A plain class, not a
    dataclass or NamedTuple: `sandgate run` imports this before every agent start, and
    both of those cost more to import than this whole module.)
    """

    __slots__ = ("bwrap", "bwrap_setuid", "sysctls", "trial_error", "uid", "version")

    def __init__(
        self,
        bwrap: str | None,
        version: tuple[int, ...] | None,
        sysctls: Mapping[str, int] = MappingProxyType({}),
        uid: int = 0,
        bwrap_setuid: bool = False,
        trial_error: str | None = "",
    ) -> None:
        self.bwrap = bwrap
        self.version = version
        self.sysctls = sysctls
        self.uid = uid
        self.bwrap_setuid = bwrap_setuid
        self.trial_error = trial_error

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__)
        return f"HostProbe({fields})"


def bwrap_version(bwrap: str) -> tuple[int, ...] | None:
    """The version of a bwrap binary, e.g. (0, 8, 0), or None if it does not say."""
    # posix_spawn and a pipe rather than subprocess: this runs before every agent
    # start, and importing subprocess costs more than running bwrap --version.
    read_end, write_end = os.pipe()
    try:
        pid = os.posix_spawn(
            bwrap,
            [bwrap, "--version"],
            {"PATH": "/usr/bin:/bin"},
            file_actions=[(os.POSIX_SPAWN_DUP2, write_end, 1)],
        )
    except OSError:
        os.close(read_end)
        os.close(write_end)
        return None
    os.close(write_end)
    chunks: list[bytes] = []
    while chunk := os.read(read_end, 4096):
        chunks.append(chunk)
    os.close(read_end)
    os.waitpid(pid, 0)
    match = re.search(r"(\d+)\.(\d+)(?:\.(\d+))?", b"".join(chunks).decode(errors="replace"))
    if not match:
        return None
    return tuple(int(part or 0) for part in match.groups())


def which(name: str) -> str | None:
    """The executable `name` on PATH (shutil.which without importing shutil, whose
    compression modules cost more than this whole check)."""
    for folder in os.environ.get("PATH", "/usr/bin:/bin").split(os.pathsep):
        candidate = os.path.join(folder or ".", name)
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


def read_sysctls() -> dict[str, int]:
    """The user-namespace and TTY sysctls this kernel has (absent ones are left out)."""
    values: dict[str, int] = {}
    for name, path in _SYSCTLS.items():
        try:
            with open(path) as handle:
                values[name] = int(handle.read().strip())
        except (OSError, ValueError):
            continue
    return values


def trial_run(bwrap: str) -> str | None:
    """Start a minimal sandbox; None when it works, else bwrap's error text."""
    import subprocess

    argv = [
        bwrap,
        "--unshare-all",
        "--unshare-user",
        "--disable-userns",
        "--die-with-parent",
        "--ro-bind",
        "/",
        "/",
        "--",
        "/bin/true",
    ]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return str(exc)
    return None if done.returncode == 0 else (done.stderr.strip() or f"exit {done.returncode}")


def probe_host(bwrap: str | None = None, trial: bool = False) -> HostProbe:
    """Gather the host facts; with `trial`, also start one tiny sandbox (~5 ms)."""
    path = bwrap or which("bwrap")
    if path is None:
        return HostProbe(None, None, read_sysctls(), os.getuid())
    setuid = bool(os.stat(path).st_mode & 0o4000)
    return HostProbe(
        bwrap=path,
        version=bwrap_version(path),
        sysctls=read_sysctls(),
        uid=os.getuid(),
        bwrap_setuid=setuid,
        trial_error=trial_run(path) if trial else "",
    )


def check_bwrap(probe: HostProbe | None = None) -> None:
    """Return if the sandbox can start here; raise `SandboxUnavailable` saying why not."""
    probe = probe if probe is not None else probe_host()
    if probe.bwrap is None:
        raise SandboxUnavailable(
            "bubblewrap (bwrap) is not installed, and Sandgate never runs an agent "
            "unsandboxed. Install it: `sudo apt install bubblewrap` (Debian/Ubuntu), "
            "`sudo dnf install bubblewrap` (Fedora), `sudo pacman -S bubblewrap` (Arch)."
        )
    if probe.version is None:
        raise SandboxUnavailable(
            f"{probe.bwrap} did not report its version; Sandgate needs bubblewrap "
            f"{_dotted(MIN_BWRAP)} or newer. Reinstall bubblewrap from your distribution."
        )
    if probe.version < MIN_BWRAP:
        raise SandboxUnavailable(
            f"bubblewrap {_dotted(probe.version)} at {probe.bwrap} is too old: Sandgate "
            f"needs {_dotted(MIN_BWRAP)} or newer for --disable-userns (so the agent cannot "
            "create user namespaces of its own). Upgrade bubblewrap (Debian 12, Ubuntu "
            "24.04 and Fedora 38 ship a new enough one) or put a newer bwrap first on PATH."
        )
    if not probe.bwrap_setuid:
        _check_userns(probe)
    if probe.trial_error:
        raise SandboxUnavailable(_explain_trial(probe.trial_error))


def _check_userns(probe: HostProbe) -> None:
    s = probe.sysctls
    if s.get("user.max_user_namespaces", 1) == 0:
        raise SandboxUnavailable(
            "user namespaces are disabled (user.max_user_namespaces = 0), and bubblewrap "
            "needs them. Enable them: `sudo sysctl -w user.max_user_namespaces=15000` and "
            "make it last with a file in /etc/sysctl.d/."
        )
    if s.get("kernel.unprivileged_userns_clone", 1) == 0 and probe.uid != 0:
        raise SandboxUnavailable(
            "unprivileged user namespaces are disabled (kernel.unprivileged_userns_clone = "
            "0), and bubblewrap needs them. Enable them: `sudo sysctl -w "
            "kernel.unprivileged_userns_clone=1` and make it last with a file in "
            "/etc/sysctl.d/."
        )
    if s.get("kernel.apparmor_restrict_unprivileged_userns", 0) == 1 and probe.uid != 0:
        raise SandboxUnavailable(
            "AppArmor restricts unprivileged user namespaces "
            "(kernel.apparmor_restrict_unprivileged_userns = 1, the default on Ubuntu "
            "24.04), so bubblewrap cannot start. Allow bwrap with an AppArmor profile: "
            "create /etc/apparmor.d/bwrap containing\n"
            "  abi <abi/4.0>, include <tunables/global>\n"
            "  profile bwrap /usr/bin/bwrap flags=(unconfined) { userns, }\n"
            "then run `sudo systemctl reload apparmor` (or, less safely, `sudo sysctl -w "
            "kernel.apparmor_restrict_unprivileged_userns=0`)."
        )


def _explain_trial(error: str) -> str:
    if "Permission denied" in error or "Operation not permitted" in error:
        return (
            f"bubblewrap could not create its namespaces ({error}). User namespaces are "
            "probably blocked, by AppArmor (Ubuntu 24.04: "
            "kernel.apparmor_restrict_unprivileged_userns), a sysctl "
            "(kernel.unprivileged_userns_clone, user.max_user_namespaces) or a container "
            "runtime's seccomp profile. Allow them for bwrap and try again; Sandgate will "
            "not run the agent without its sandbox."
        )
    return f"bubblewrap failed to start a test sandbox: {error}"


def tiocsti_blocked_by_kernel(probe: HostProbe) -> bool:
    """Whether the kernel itself refuses TIOCSTI to processes without CAP_SYS_ADMIN
    (Linux 6.2+ with dev.tty.legacy_tiocsti = 0)."""
    return probe.sysctls.get("dev.tty.legacy_tiocsti", 1) == 0


def _dotted(version: tuple[int, ...]) -> str:
    return ".".join(str(part) for part in version)
