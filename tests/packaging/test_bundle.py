"""The Debian package, extracted with `dpkg-deb -x`, runs Sandgate for real.

The package is built by packaging/build.sh when it is missing or older than any of its
sources (a build from scratch takes a few minutes on two cores; later ones reuse
PyInstaller's analysis). Installing it with `dpkg -i` is the build script's own check
(`bash packaging/build.sh --check`), not a test's: a test may not change the machine.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("app", "sandbox", "triage", "resources", "packaging", "pyproject.toml")


def _newest_source() -> float:
    newest = 0.0
    for name in SOURCES:
        top = ROOT / name
        files = [top] if top.is_file() else [p for p in top.rglob("*") if p.is_file()]
        for path in files:
            if "__pycache__" not in path.parts:
                newest = max(newest, path.stat().st_mtime)
    return newest


@pytest.fixture(scope="module")
def package() -> Path:
    """The built .deb, built now if missing or stale."""
    for tool in ("dpkg-deb", "bwrap", "socat"):
        if shutil.which(tool) is None:
            if os.environ.get("CI") == "true":
                pytest.fail(f"{tool} missing: packaging/install.sh should have installed it")
            pytest.skip(f"{tool} is not installed here")
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())
    arch = subprocess.run(
        ["dpkg", "--print-architecture"], capture_output=True, text=True, check=True
    ).stdout.strip()
    deb = ROOT / "dist" / f"sandgate_{meta['project']['version']}_{arch}.deb"
    if not deb.exists() or deb.stat().st_mtime < _newest_source():
        done = subprocess.run(
            ["bash", "packaging/build.sh"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return deb


@pytest.fixture(scope="module")
def extracted(package: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("deb") / "root"
    subprocess.run(["dpkg-deb", "-x", str(package), str(root)], check=True, timeout=300)
    return root


@pytest.fixture
def short_runtime(isolated_env: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A short XDG_RUNTIME_DIR, as a real one is: the per-session sockets must fit
    AF_UNIX's limit, which pytest's temporary paths exceed."""
    runtime = Path(tempfile.mkdtemp(prefix="sg"))
    runtime.chmod(0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    yield runtime
    shutil.rmtree(runtime, ignore_errors=True)


def _run(program: Path, *args: str, cwd: Path, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    return subprocess.run(
        [str(program), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        env=env,
        check=False,
    )


@pytest.mark.timeout(1200)
def test_the_package_holds_the_bundle_and_the_desktop_files(package: Path, extracted: Path) -> None:
    fields = subprocess.run(
        ["dpkg-deb", "-f", str(package), "Package", "Depends"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "Package: sandgate" in fields
    assert "Depends: bubblewrap, socat" in fields
    assert os.readlink(extracted / "usr/bin/sandgate") == "/opt/sandgate/sandgate"
    for path in (
        "opt/sandgate/sandgate",
        "usr/share/applications/io.github.sandgate.Sandgate.desktop",
        "usr/share/metainfo/io.github.sandgate.Sandgate.metainfo.xml",
        "usr/lib/systemd/user/sandgate.service",
        "usr/share/icons/hicolor/scalable/apps/io.github.sandgate.Sandgate.svg",
        "opt/sandgate/_internal/resources/policy/default.yaml",
        "opt/sandgate/_internal/resources/catalogues/credentials.yaml",
    ):
        assert (extracted / path).is_file(), path
    control = subprocess.run(
        ["dpkg-deb", "-I", str(package)], capture_output=True, text=True, check=True
    ).stdout
    assert "postinst" not in control and "prerm" not in control  # nothing to undo on purge


@pytest.mark.timeout(1200)
def test_the_extracted_program_scores_and_runs_in_the_sandbox(
    extracted: Path, isolated_env: Path, short_runtime: Path, tmp_path: Path
) -> None:
    program = extracted / "opt/sandgate/sandgate"
    workspace = tmp_path / "ws"
    workspace.mkdir()
    helped = _run(program, "--help", cwd=workspace)
    assert helped.returncode == 0, helped.stderr
    assert "run" in helped.stdout
    if "--version" in helped.stdout or "\n  version" in helped.stdout:
        version = _run(program, "--version", cwd=workspace)
        assert version.returncode == 0, version.stderr
        assert "0.1.0" in version.stdout

    # The catalogues are found inside the bundle: a credential read scores high.
    event = '{"id":"e1","session":"s1","kind":"file.read","path":"~/.aws/credentials"}\n'
    scored = _run(program, "score", cwd=workspace, stdin=event)
    assert scored.returncode == 0, scored.stderr
    assert '"band": "high"' in scored.stdout and "cred:aws" in scored.stdout

    ran = _run(program, "run", "--", "true", cwd=workspace)
    assert ran.returncode == 0, ran.stderr
    failed = _run(program, "run", "--", "false", cwd=workspace)
    assert failed.returncode == 1, failed.stderr

    # Inside the sandbox: the host's libraries (not the bundle's), and the bundle's own
    # program, which the permission hook runs there.
    inside = _run(
        program,
        "run",
        "--",
        "sh",
        "-c",
        f'echo "LD=${{LD_LIBRARY_PATH:-none}}"; echo "HOME=$HOME"; exec "{program}" --help',
        cwd=workspace,
    )
    assert inside.returncode == 0, inside.stderr
    assert "LD=none" in inside.stdout
    assert f"HOME={isolated_env}" in inside.stdout
    assert "usage: sandgate" in inside.stdout
    # Nothing was written beside the workspace's own files.
    assert sorted(os.listdir(workspace)) == []
