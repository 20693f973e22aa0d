"""Where Sandgate keeps its files. Resolved once in `main()` and passed down.

Everything follows XDG through platformdirs, so `HOME` and the `XDG_*` variables
relocate every file (the tests rely on this to never touch the real home).
"""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

APP = "sandgate"


class Paths:
    """The folders Sandgate uses; `ensure()` creates them private to the user.

    A plain class rather than a dataclass: `sandgate run` imports this before the agent
    starts, and the dataclasses machinery costs more than the whole of this module.
    """

    __slots__ = ("config", "data", "runtime", "state")

    def __init__(self, config: Path, data: Path, state: Path, runtime: Path) -> None:
        self.config = config
        self.data = data
        self.state = state
        self.runtime = runtime

    def __repr__(self) -> str:
        return (
            f"Paths(config={self.config!r}, data={self.data!r}, "
            f"state={self.state!r}, runtime={self.runtime!r})"
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Paths):
            return NotImplemented
        return (self.config, self.data, self.state, self.runtime) == (
            other.config,
            other.data,
            other.state,
            other.runtime,
        )

    def __hash__(self) -> int:
        return hash((self.config, self.data, self.state, self.runtime))

    @classmethod
    def from_environment(cls) -> Paths:
        """Resolve the folders from the current environment (HOME, XDG_*).

        On Linux the XDG rules are applied here exactly as platformdirs applies them (a
        test holds the two equal): `sandgate run` resolves these before every agent
        start, and importing platformdirs costs more than the rest of this module.
        Elsewhere (macOS) platformdirs decides.
        """
        runtime = _runtime_dir()
        if sys.platform.startswith("linux"):
            config = _xdg("XDG_CONFIG_HOME", "~/.config")
            data = _xdg("XDG_DATA_HOME", "~/.local/share")
            state = _xdg("XDG_STATE_HOME", "~/.local/state")
        else:
            import platformdirs

            runtime = runtime or Path(platformdirs.user_runtime_dir(APP))
            config = Path(platformdirs.user_config_dir(APP))
            data = Path(platformdirs.user_data_dir(APP))
            state = Path(platformdirs.user_state_dir(APP))
        if runtime is None or not _usable_parent(runtime):
            runtime = _private_tmp()
        return cls(config=config, data=data, state=state, runtime=runtime)

    @property
    def user_policy(self) -> Path:
        return self.config / "policy.yaml"

    @property
    def database(self) -> Path:
        return self.data / "sandgate.db"

    @property
    def socket(self) -> Path:
        return self.runtime / "service.sock"

    @property
    def sessions(self) -> Path:
        return self.state / "sessions"

    @property
    def quarantine(self) -> Path:
        return self.state / "quarantine"

    def ensure(self) -> Paths:
        """Create every folder with mode 0700 and return self.

        Raises PermissionError when a folder is a symlink or belongs to someone else: the
        runtime folder may sit in a shared /tmp, where another user could have made it
        first to read our sockets.
        """
        for folder in (self.config, self.data, self.state, self.runtime, self.sessions):
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            info = folder.lstat()
            if stat.S_ISLNK(info.st_mode) or info.st_uid != os.getuid():
                raise PermissionError(f"{folder} is not a folder of this user; remove it")
            folder.chmod(0o700)
        return self


def _xdg(variable: str, default: str) -> Path:
    base = os.environ.get(variable, "").strip()
    if not os.path.isabs(base):  # the XDG rule: a relative value is ignored
        base = os.path.expanduser(default)
    return Path(base) / APP


def _runtime_dir() -> Path | None:
    """$XDG_RUNTIME_DIR/sandgate on Linux; None elsewhere (platformdirs knows macOS)."""
    if not sys.platform.startswith("linux"):
        return None
    base = os.environ.get("XDG_RUNTIME_DIR")
    # Without the variable platformdirs warns and picks /tmp/runtime-UID; ours is clearer.
    return Path(base) / APP if base else _private_tmp()


def _private_tmp() -> Path:
    """A per-user folder in the temporary directory (a bare root shell, CI)."""
    import tempfile

    return Path(tempfile.gettempdir()) / f"{APP}-{os.getuid()}"


def _usable_parent(path: Path) -> bool:
    parent = path.parent
    return parent.is_dir() and os.access(parent, os.W_OK | os.X_OK)
