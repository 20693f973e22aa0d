"""The desktop entry, AppStream metadata, user unit and PyInstaller spec are valid."""

from __future__ import annotations

import configparser
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGING = ROOT / "packaging"
APP_ID = "io.github.sandgate.Sandgate"


def _tool(name: str) -> str:
    """A validator from Debian; packaging/install.sh installs it, so CI must have it."""
    found = shutil.which(name)
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{name} missing: packaging/install.sh should have installed it")
        pytest.skip(f"{name} is not installed here")
    return found


def test_the_desktop_entry_validates_and_starts_the_tray() -> None:
    path = PACKAGING / f"{APP_ID}.desktop"
    done = subprocess.run(
        [_tool("desktop-file-validate"), str(path)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout == ""  # not even a hint
    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str  # type: ignore[assignment,method-assign]
    entry.read(path)
    assert entry["Desktop Entry"]["Exec"] == "sandgate tray"
    assert entry["Desktop Entry"]["Icon"] == APP_ID


def test_the_appstream_metadata_validates() -> None:
    path = PACKAGING / f"{APP_ID}.metainfo.xml"
    done = subprocess.run(
        [_tool("appstreamcli"), "validate", "--no-net", "--explain", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "E:" not in done.stdout and "W:" not in done.stdout, done.stdout
    assert f'<launchable type="desktop-id">{APP_ID}.desktop</launchable>' in path.read_text()


def test_the_user_unit_runs_the_installed_service(tmp_path: Path) -> None:
    unit = (PACKAGING / "sandgate.service").read_text()
    lines = [line.strip() for line in unit.splitlines()]
    assert "ExecStart=/usr/bin/sandgate service" in lines
    assert "WantedBy=default.target" in lines
    assert "Type=simple" in lines
    # systemd-analyze checks that ExecStart is executable: verify a copy that runs this
    # checkout's `sandgate` instead, keys otherwise unchanged.
    analyze = _tool("systemd-analyze")
    launcher = Path(sys.executable).parent / "sandgate"
    copy = tmp_path / "sandgate.service"
    copy.write_text(unit.replace("/usr/bin/sandgate", str(launcher)))
    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o700)
    env = {**os.environ, "XDG_RUNTIME_DIR": str(runtime), "HOME": str(tmp_path)}
    done = subprocess.run(
        [analyze, "verify", "--user", str(copy)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stderr == "", done.stderr


def test_the_spec_makes_a_menu_bar_only_macos_app() -> None:
    spec = (PACKAGING / "sandgate.spec").read_text()
    assert '"LSUIElement": True' in spec
    assert 'name="Sandgate.app"' in spec
    assert "exclude_binaries=True" in spec  # one folder, not one file


def test_the_app_icon_is_shipped_as_package_data() -> None:
    icon = ROOT / "resources" / "icons" / "sandgate-app.svg"
    assert icon.read_text().lstrip().startswith("<?xml")
    assert "<svg" in icon.read_text()
