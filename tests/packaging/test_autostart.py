"""Start at login writes and removes the XDG autostart entry, in a private config home."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from app import autostart
from app.paths import Paths

ROOT = Path(__file__).resolve().parents[2]


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env=os.environ.copy(),
        check=False,
    )


def test_on_writes_the_entry_in_xdg_autostart_and_off_removes_it(isolated_env: Path) -> None:
    paths = Paths.from_environment()
    entry = isolated_env / ".config" / "autostart" / "sandgate.desktop"
    assert not autostart.enabled(paths)
    assert autostart.enable(paths) == entry
    assert autostart.enabled(paths)
    text = entry.read_text()
    assert text.startswith("[Desktop Entry]\n")
    assert "Type=Application\n" in text
    assert autostart.disable(paths)
    assert not entry.exists()
    assert not autostart.enabled(paths)
    assert not autostart.disable(paths)  # already off: says so, no error
    assert sorted(os.listdir(entry.parent)) == []  # no temporary file left


def test_the_entry_is_a_valid_desktop_file_that_starts_this_installation(
    isolated_env: Path,
) -> None:
    path = autostart.enable(Paths.from_environment())
    validator = shutil.which("desktop-file-validate")
    if validator is None and os.environ.get("CI") == "true":
        pytest.fail("desktop-file-validate missing: packaging/install.sh installs it")
    if validator is not None:
        done = subprocess.run([validator, str(path)], capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stdout + done.stderr
        assert done.stdout == ""
    exec_line = next(line for line in path.read_text().splitlines() if line.startswith("Exec="))
    words = shlex.split(exec_line.removeprefix("Exec="))
    assert words[-1] == "tray"
    # The same program, asked for its help instead of the tray, runs: the entry points
    # at a real, working `sandgate`.
    done = subprocess.run(
        [*words[:-1], "--help"], capture_output=True, text=True, timeout=60, cwd=ROOT, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "autostart" in done.stdout


def test_a_hidden_entry_counts_as_off(isolated_env: Path) -> None:
    paths = Paths.from_environment()
    path = autostart.enable(paths)
    path.write_text(path.read_text() + "Hidden=true\n")
    assert not autostart.enabled(paths)


def test_exec_quoting_follows_the_desktop_entry_rules() -> None:
    text = autostart.render(["/opt/My Apps/sandgate", "50%"])
    exec_line = next(line for line in text.splitlines() if line.startswith("Exec="))
    assert exec_line == 'Exec="/opt/My Apps/sandgate" 50%% tray'
    text = autostart.render(['/odd/"dir"/sandgate'])
    assert 'Exec="/odd/\\\\"dir\\\\"/sandgate" tray' in text


def test_the_command_turns_it_on_and_off(isolated_env: Path) -> None:
    assert _cli("autostart", "status").stdout.strip() == "off"
    on = _cli("autostart", "on")
    assert on.returncode == 0, on.stderr
    assert (isolated_env / ".config" / "autostart" / "sandgate.desktop").is_file()
    assert _cli("autostart", "status").stdout.startswith("on (")
    assert _cli("autostart", "off").returncode == 0
    assert _cli("autostart", "status").stdout.strip() == "off"
    bad = _cli("autostart", "maybe")
    assert bad.returncode == 2
    assert "invalid choice" in bad.stderr


def test_an_unwritable_autostart_folder_gives_a_sentence(isolated_env: Path) -> None:
    (isolated_env / ".config" / "autostart").write_text("not a folder")
    done = _cli("autostart", "on")
    assert done.returncode == 1
    assert done.stderr.startswith("sandgate: cannot change ")
    assert "autostart" in done.stderr and "Traceback" not in done.stderr
