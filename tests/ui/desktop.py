"""A real X desktop for a test: Xvfb on a free display and trayer as the tray host."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

PROGRAMS = ("Xvfb", "trayer", "xdotool", "import", "dbus-run-session")


def require_programs() -> None:
    """Skip without the desktop programs; in CI their absence is an error."""
    missing = [p for p in PROGRAMS if shutil.which(p) is None]
    if missing:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI lacks {', '.join(missing)}: packaging/install.sh installs them")
        pytest.skip(f"needs {', '.join(missing)}")


@contextmanager
def desktop(size: str = "1280x800x24") -> Iterator[str]:
    """Xvfb on a display number it picks itself, with trayer docked at the top."""
    read, write = os.pipe()
    xvfb = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write), "-screen", "0", size, "-nolisten", "tcp"],
        pass_fds=(write,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    os.close(write)
    number = b""
    with os.fdopen(read, "rb") as pipe:
        while not number.endswith(b"\n"):
            chunk = pipe.read(1)
            if not chunk:
                break
            number += chunk
    display = f":{number.decode().strip()}"
    env = {**os.environ, "DISPLAY": display}
    trayer = subprocess.Popen(
        ["trayer", "--edge", "top", "--align", "right", "--widthtype", "request",
         "--height", "28", "--transparent", "false", "--tint", "0x303030", "--SetDockType",
         "true", "--expand", "true"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            found = subprocess.run(
                ["xdotool", "search", "--class", "trayer"], env=env, capture_output=True
            )
            if found.returncode == 0:
                break
            time.sleep(0.1)
        time.sleep(0.5)  # trayer maps its window before it owns the tray selection
        yield display
    finally:
        for proc in (trayer, xvfb):
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)


def screenshot(display: str, target: Path) -> Path:
    """The whole screen, as a person would see it."""
    subprocess.run(
        ["import", "-window", "root", str(target)],
        env={**os.environ, "DISPLAY": display}, check=True, timeout=30,
    )  # fmt: skip
    return target
