"""Start at login: the XDG autostart entry that starts the tray when the user logs in.

The entry is `$XDG_CONFIG_HOME/autostart/sandgate.desktop` (the XDG autostart
specification); it exists exactly while the setting is on. Qt-free, so the tray's menu
and `sandgate autostart on|off|status` share it:

    from app import autostart
    autostart.enabled(paths) -> bool
    autostart.enable(paths) -> Path     # writes the entry, returns where
    autostart.disable(paths) -> bool    # removes it; False when it was already off

Only Linux desktops read this folder; on macOS a login item is the user's to add.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

TYPE_CHECKING = False
if TYPE_CHECKING:
    from app.paths import Paths

FILE_NAME = "sandgate.desktop"


def entry_path(paths: Paths) -> Path:
    """Where the autostart entry lives: beside Sandgate's own config folder."""
    return paths.config.parent / "autostart" / FILE_NAME


def enabled(paths: Paths) -> bool:
    """Whether Sandgate starts at login (the entry is there and not hidden)."""
    path = entry_path(paths)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):  # absent or unreadable: not starting
        return False
    # A desktop that "removes" an autostart entry may instead write Hidden=true.
    return not any(line.strip().lower() == "hidden=true" for line in text.splitlines())


def enable(paths: Paths) -> Path:
    """Write the autostart entry for this installation's `sandgate tray`; returns its path.

    Written to a temporary file and renamed, so a desktop reading at login never sees
    half an entry."""
    path = entry_path(paths)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{FILE_NAME}.{os.getpid()}")
    temporary.write_text(render(launcher()), encoding="utf-8")
    os.replace(temporary, path)
    return path


def disable(paths: Paths) -> bool:
    """Remove the autostart entry; False when there was none."""
    try:
        entry_path(paths).unlink()
    except FileNotFoundError:
        return False
    return True


def launcher() -> list[str]:
    """The words that start this installation's `sandgate`.

    A frozen bundle is its own program; an installed package has a `sandgate` script
    beside its interpreter; a bare checkout runs the module."""
    if getattr(sys, "frozen", False):
        return [sys.executable]
    script = Path(sys.executable).parent / "sandgate"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "app.cli"]


def render(program: list[str]) -> str:
    """The entry's text: start the tray, which attaches to a running service."""
    words = [*program, "tray"]
    # The Exec key has its own quoting: double quotes, with \ " ` $ escaped inside.
    exec_line = " ".join(_exec_quote(word) for word in words)
    return (
        "[Desktop Entry]\n"
        "Type=Application\n"
        "Name=Sandgate\n"
        "Comment=Approval manager for AI coding agents\n"
        f"Exec={exec_line}\n"
        "Icon=io.github.sandgate.Sandgate\n"
        "Terminal=false\n"
        "NoDisplay=true\n"
        "X-GNOME-Autostart-enabled=true\n"
    )


def _exec_quote(word: str) -> str:
    word = word.replace("%", "%%")  # field codes start with %
    if word and all(c.isalnum() or c in "/._-+=:,%" for c in word):
        return word
    escaped = "".join("\\" + c if c in '"`$\\' else c for c in word)
    # In a desktop file a backslash is itself escaped once more.
    return '"' + escaped.replace("\\", "\\\\") + '"'
