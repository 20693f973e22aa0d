"""The bwrap command line: mounts in order, and what is visible where.

bwrap applies its mount options in order, each later one covering what is under it,
so the plan adds them in layers: system folders, empty scratch folders, the empty
home, trusted paths and the workspace (shallow before deep), read-only re-binds of
protected files, masks over denied paths, and decoys last. `Mounts` also remembers
which host trees are visible inside, so that masks are added only where needed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

# Shown read-only at the same place when they exist on the host. Everything else of
# the host's root (/home, /root, /mnt, /media, /run, /var, /srv, ...) is absent.
SYSTEM_DIRS: tuple[str, ...] = (
    "/usr",
    "/bin",
    "/sbin",
    "/lib",
    "/lib32",
    "/lib64",
    "/libx32",
    "/etc",
    "/opt",
    "/nix",
    "/gnu",
    "/snap",
)

SANDBOX_SOCKET_DIR = "/run/sandgate"
SANDBOX_PROXY_SOCKET = "/run/sandgate/proxy.sock"
SANDBOX_CA_BUNDLE = "/run/sandgate/ca-bundle.pem"
# A session's channel to the service (app/service/channel.py): made in the session's
# folder on the host, bound here inside, named to the agent's hook by SANDGATE_CHANNEL.
CHANNEL_FILE = "channel.sock"
SANDBOX_CHANNEL_SOCKET = "/run/sandgate/hook.sock"


def within(path: str, root: str) -> bool:
    """Whether `path` is `root` or below it (both absolute, normalised)."""
    return path == root or path.startswith(root.rstrip("/") + "/")


@dataclass(frozen=True)
class Layer:
    """One mount, in order, with the reason the plan gave for it (sandbox/explain.py
    reads these to say why a path is shown, read-only or hidden). `kind` is `bind`,
    `ro-bind`, `tmpfs`, `stage`, `mask` (an empty file over a path), `decoy`,
    `symlink` or `dir`."""

    kind: str
    src: str
    dest: str
    why: str = ""


@dataclass
class Mounts:
    """An ordered list of bwrap mount arguments, and the host trees they show."""

    args: list[str] = field(default_factory=list)
    # sandbox path -> writable, for every bind of a host tree
    visible: dict[str, bool] = field(default_factory=dict)
    layers: list[Layer] = field(default_factory=list)

    def ro_bind(self, src: str, dest: str, why: str = "") -> None:
        self.args += ["--ro-bind", src, dest]
        self.visible[dest] = False
        self.layers.append(Layer("ro-bind", src, dest, why))

    def bind(self, src: str, dest: str, why: str = "") -> None:
        self.args += ["--bind", src, dest]
        self.visible[dest] = True
        self.layers.append(Layer("bind", src, dest, why))

    def tmpfs(self, dest: str, why: str = "") -> None:
        self.args += ["--tmpfs", dest]
        # A tmpfs hides the host tree under it.
        for path in [p for p in self.visible if within(p, dest)]:
            del self.visible[path]
        self.layers.append(Layer("tmpfs", "", dest, why))

    def stage(self, src: str, dest: str, why: str = "") -> None:
        """A writable folder of our own at `dest` (a session's staging folder): it shows
        nothing of the host tree that was there."""
        self.args += ["--bind", src, dest]
        for path in [p for p in self.visible if within(p, dest)]:
            del self.visible[path]
        self.layers.append(Layer("stage", src, dest, why))

    def dir(self, dest: str) -> None:
        self.args += ["--dir", dest]
        self.layers.append(Layer("dir", "", dest))

    def symlink(self, target: str, dest: str) -> None:
        self.args += ["--symlink", target, dest]
        self.layers.append(Layer("symlink", target, dest))

    def mask_file(self, empty: str, dest: str, why: str = "") -> None:
        self.args += ["--ro-bind", empty, dest]
        self.layers.append(Layer("mask", empty, dest, why))

    def decoy(self, src: str, dest: str, why: str = "") -> None:
        """A decoy file of the session's shown read-only over a credential."""
        self.args += ["--ro-bind", src, dest]
        self.layers.append(Layer("decoy", src, dest, why))

    def shows(self, path: str) -> bool:
        """Whether a host path is visible inside through one of the binds."""
        best = max((p for p in self.visible if within(path, p)), key=len, default=None)
        return best is not None

    def writable(self, path: str) -> bool:
        best = max((p for p in self.visible if within(path, p)), key=len, default=None)
        return best is not None and self.visible[best]

    def deciding(self, path: str) -> Layer | None:
        """The mount that decides what `path` is inside: bwrap applies them in order,
        so the last one at `path` or above it (None: nothing shows it)."""
        for layer in reversed(self.layers):
            if layer.kind != "dir" and within(path, layer.dest):
                return layer
        return None


def system_mounts(mounts: Mounts) -> None:
    """System folders read-only (symlinked ones, like /bin on merged-/usr, as symlinks)."""
    for path in SYSTEM_DIRS:
        if os.path.islink(path):
            mounts.symlink(os.readlink(path), path)
        elif os.path.isdir(path):
            mounts.ro_bind(path, path, "a system folder")


def scratch_mounts(mounts: Mounts, network: bool) -> None:
    """Private /proc, /dev, /tmp, /var and /run: no host socket lives in any of them."""
    mounts.args += ["--proc", "/proc", "--dev", "/dev"]
    mounts.tmpfs("/tmp", "private to the session")
    mounts.tmpfs("/var", "private to the session")
    mounts.dir("/var/tmp")
    mounts.symlink("../run", "/var/run")
    mounts.tmpfs("/run", "private to the session")
    if network:
        mounts.dir(SANDBOX_SOCKET_DIR)


def depth(path: str) -> int:
    return len(Path(path).parts)
