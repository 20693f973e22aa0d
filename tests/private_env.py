"""A private home for scripts that run Sandgate outside pytest (benchmarks, the README's
screenshots): HOME and every XDG folder inside one folder, no session bus, so nothing
of the real home, keyring or D-Bus is touched. Tests use the `isolated_env` fixture."""

from __future__ import annotations

import os
from pathlib import Path


def private_env(base: Path) -> dict[str, str]:
    """An environment whose HOME and XDG folders are all inside `base` (made, 0700)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("XDG_")}
    folders = {
        "HOME": base,
        "XDG_CONFIG_HOME": base / ".config",
        "XDG_DATA_HOME": base / ".local/share",
        "XDG_STATE_HOME": base / ".local/state",
        "XDG_CACHE_HOME": base / ".cache",
        "XDG_RUNTIME_DIR": base / "run",
    }
    for name, folder in folders.items():
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        env[name] = str(folder)
    env.pop("DBUS_SESSION_BUS_ADDRESS", None)
    return env


def enter_private_home(base: Path) -> Path:
    """Make this process's own environment `private_env(base)`; returns `base`."""
    env = private_env(base)
    os.environ.clear()
    os.environ.update(env)
    return base
