"""Commands that reach the host around the sandbox: container runtimes and namespaces.

A container runtime's daemon runs as root on the host. A container given the host's
root, a home or a system folder, run ``--privileged`` or in the host's namespaces, or
handed the runtime's own socket, can do anything the host's root can; ``nsenter``
enters another process's namespaces (``-t 1``: the host's). Each finding is a
(category, what) pair for the rules: ``mount`` (the host's files), ``privileged``,
``socket``, ``namespace``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from triage.shell.words import normalise_path

if TYPE_CHECKING:
    from triage.shell.walker import _Walker

_RUNTIMES = frozenset(["docker", "podman", "nerdctl", "finch", "lima-nerdctl"])
_RUNS = frozenset(["run", "create"])
_VOLUME = frozenset(["-v", "--volume"])
_MOUNT = frozenset(["--mount"])
# Options that share a namespace of the host, given as `--pid=host` or `--pid host`.
_HOST_NAMESPACES = frozenset(
    ["--pid", "--net", "--network", "--ipc", "--uts", "--userns", "--cgroupns"]
)
_CAPABILITIES = frozenset(
    ["ALL", "SYS_ADMIN", "SYS_PTRACE", "SYS_MODULE", "DAC_READ_SEARCH", "NET_ADMIN"]
)
# The runtime's own options before its subcommand that take a value (`docker -H x run`).
_GLOBAL_VALUE = frozenset(
    [
        *("-H", "--host", "-c", "--context", "--config", "-l", "--log-level", "--url"),
        *("--connection", "--tlscacert", "--tlscert", "--tlskey", "--root", "--runroot"),
        *("--namespace", "-n"),
    ]
)
_SOCKET = re.compile(r"(?:docker|podman|containerd|crio|cri-dockerd|buildkitd)\.sock$")
_SYSTEM = ("/etc", "/root", "/var", "/usr", "/boot", "/proc", "/sys", "/dev", "/run", "/lib")
_HOME = re.compile(r"^(?:~|/root|/home(?:/[^/]+)?|/Users(?:/[^/]+)?)/?$")


def _host_reach(walker: _Walker, name: str, words: Sequence[str]) -> None:
    """Record what a container run or ``nsenter`` gives of the host."""
    if name == "nsenter":
        target = _value(words, ("-t", "--target"))
        whose = "the host's (process 1)" if target == "1" else "another process's"
        walker.found.host.append(("namespace", f"nsenter enters {whose} namespaces"))
        return
    if name == "curl":
        socket = _value(words, ("--unix-socket", "--abstract-unix-socket"))
        if socket and _SOCKET.search(socket):
            walker.found.host.append(("socket", f"the runtime's own socket ({socket}, by curl)"))
        return
    if name not in _RUNTIMES:
        return
    run_at = _run_index(words)
    if run_at is None:
        return
    runtime = f"{name} run"
    index = run_at + 1
    while index < len(words):
        word = words[index]
        option, eq, value = word.partition("=")
        if not word.startswith("-"):
            break  # the image: what follows is the container's own command line
        if option.startswith("-v") and len(option) > 2 and not option.startswith("--"):
            option, eq, value = "-v", "=", word[2:]  # `-v/:/host`
        takes_value = option in _VOLUME | _MOUNT | _HOST_NAMESPACES or option in (
            "--cap-add",
            "--security-opt",
            "--device",
        )
        if takes_value and not eq:
            value = words[index + 1] if index + 1 < len(words) else ""
            index += 1
        index += 1
        if option in _VOLUME:
            _mounted(walker, runtime, value.split(":", 1)[0], f"{option} {value}")
        elif option in _MOUNT:
            fields = dict(p.partition("=")[::2] for p in value.split(","))
            source = fields.get("source") or fields.get("src") or ""
            if fields.get("type", "volume") == "bind" or source.startswith(("/", "~", "$")):
                _mounted(walker, runtime, source, f"--mount {value}")
        elif word == "--privileged":
            walker.found.host.append(("privileged", "--privileged"))
        elif option in _HOST_NAMESPACES and value == "host":
            walker.found.host.append(("privileged", f"{option}=host"))
        elif option == "--cap-add" and value.upper().removeprefix("CAP_") in _CAPABILITIES:
            walker.found.host.append(("privileged", f"--cap-add {value}"))
        elif option == "--security-opt" and "unconfined" in value:
            walker.found.host.append(("privileged", f"--security-opt {value}"))
        elif option == "--device" and value.startswith("/dev/"):
            walker.found.host.append(("privileged", f"--device {value}"))


def _run_index(words: Sequence[str]) -> int | None:
    """Where `run`/`create` stands (`docker run`, `docker -H x container run`,
    `docker compose run`), after the runtime's own options; None for other commands."""
    index = 0
    while index < len(words) and words[index].startswith("-"):
        index += 2 if words[index] in _GLOBAL_VALUE else 1
    if index < len(words) and words[index] in ("container", "compose"):
        index += 1
        while index < len(words) and words[index].startswith("-"):  # compose's own -f x
            index += 2 if words[index] in ("-f", "--file", "-p", "--project-name") else 1
    if index < len(words) and words[index] in _RUNS:
        return index
    return None


def _mounted(walker: _Walker, runtime: str, source: str, spec: str) -> None:
    """A host path given to a container: the root, a home, a system folder or a socket.
    Its credentials are read (the container sees them); the workspace is a near miss."""
    if not source.startswith(("/", "~", "$HOME", "${HOME}")):
        return  # a named volume, or a path relative to the workspace
    path = normalise_path(source)
    reads = walker.read_path((path,), recursive=True)
    if _SOCKET.search(path):
        what = ("socket", "the runtime's own socket")
    elif path == "/":
        what = ("mount", "the host's root folder")
    elif _HOME.match(path):
        what = ("mount", "a whole home folder")
    elif any(path == s or path.startswith(s + "/") for s in _SYSTEM):
        what = ("mount", "a system folder")
    elif reads.creds:
        what = ("mount", "a folder of credentials")
    else:
        return
    walker.found.host.append((what[0], f"{what[1]} ({runtime} {spec})"))


def _value(words: Sequence[str], options: tuple[str, ...]) -> str | None:
    for index, word in enumerate(words):
        for option in options:
            if word == option and index + 1 < len(words):
                return words[index + 1]
            if word.startswith(option + "=") or (len(option) == 2 and word.startswith(option)):
                rest = word[len(option) :].lstrip("=")
                if rest:
                    return rest
    return None
