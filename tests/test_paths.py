"""Sandgate's folders follow the environment and refuse folders that are not ours."""

import os
from pathlib import Path

import pytest

from app.paths import Paths


def test_folders_follow_xdg(isolated_env: Path) -> None:
    paths = Paths.from_environment().ensure()
    assert paths.config == isolated_env / ".config" / "sandgate"
    assert paths.database.parent == isolated_env / ".local/share/sandgate"
    assert paths.socket.parent == isolated_env / "run" / "sandgate"
    for folder in (paths.config, paths.data, paths.state, paths.runtime):
        assert folder.stat().st_mode & 0o777 == 0o700


def test_without_runtime_dir_a_private_tmp_folder(
    isolated_env: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("XDG_RUNTIME_DIR")
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)
    paths = Paths.from_environment()
    assert paths.runtime == tmp_path / f"sandgate-{os.getuid()}"


def test_a_planted_symlink_is_refused(isolated_env: Path, tmp_path: Path) -> None:
    paths = Paths.from_environment()
    elsewhere = tmp_path / "attacker"
    elsewhere.mkdir()
    paths.runtime.parent.mkdir(parents=True, exist_ok=True)
    paths.runtime.symlink_to(elsewhere)
    with pytest.raises(PermissionError, match="not a folder of this user"):
        paths.ensure()


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"XDG_CONFIG_HOME": "", "XDG_DATA_HOME": "  "},
        {"XDG_CONFIG_HOME": "/elsewhere/cfg", "XDG_STATE_HOME": "/elsewhere/state"},
        {"XDG_DATA_HOME": "relative/data"},
    ],
)
def test_linux_folders_are_what_platformdirs_says(
    isolated_env: Path, monkeypatch: pytest.MonkeyPatch, overrides: dict[str, str]
) -> None:
    """Paths applies the XDG rules itself on Linux (for start-up speed); it must agree
    with platformdirs, the reference, in every case."""
    import platformdirs

    for name, value in overrides.items():
        monkeypatch.setenv(name, value)
    paths = Paths.from_environment()
    assert paths.config == Path(platformdirs.user_config_dir("sandgate"))
    assert paths.data == Path(platformdirs.user_data_dir("sandgate"))
    assert paths.state == Path(platformdirs.user_state_dir("sandgate"))
    assert paths.runtime == Path(platformdirs.user_runtime_dir("sandgate"))
