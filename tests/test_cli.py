"""The dispatcher: one command imported, and `run`'s quick parser agreeing with argparse."""

import argparse
import subprocess
import sys
from pathlib import Path

import pytest

from app.commands import run


def _argparse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    run.configure(parser)
    return parser.parse_args(argv)


@pytest.mark.parametrize(
    "argv",
    [
        ["--", "claude"],
        ["--workspace", "/w", "--", "sh", "-c", "echo --profile x"],
        ["--profile", "codex", "--policy", "p.yaml", "--accept-memory", "--", "codex", "--yolo"],
        ["--accept-memory", "--workspace", "rel/ws", "--", "aider", "--", "x"],
    ],
)
def test_the_quick_parser_reads_what_argparse_reads(argv: list[str]) -> None:
    quick = run.parse_quickly(argv)
    slow = _argparse(argv)
    assert quick is not None
    assert quick.workspace == slow.workspace
    assert quick.profile == slow.profile
    assert quick.policy == slow.policy
    assert quick.accept_memory == slow.accept_memory
    assert ["--", *quick.command] == slow.command
    assert quick.workspace is None or isinstance(quick.workspace, Path)


@pytest.mark.parametrize(
    "argv", [[], ["--help"], ["--"], ["--workspace"], ["--wrokspace", "x", "--", "a"], ["a"]]
)
def test_anything_else_goes_to_argparse(argv: list[str]) -> None:
    assert run.parse_quickly(argv) is None


def test_run_imports_neither_argparse_nor_typing_before_the_agent(tmp_path: Path) -> None:
    """The start-up path of `sandgate run` stays lean: a regression here costs every
    agent start (see benchmarks/bench_run.py)."""
    probe = (
        "import sys\n"
        "from app import cli\n"
        "from app.commands import run\n"
        "run.parse_quickly(['--', 'true'])\n"
        "import app.client, app.paths\n"
        "heavy = {'argparse', 'typing', 'platformdirs', 'subprocess', 'dataclasses'}\n"
        "print(sorted(heavy & set(sys.modules)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=tmp_path
    )
    assert done.stdout.strip() == "[]", done.stdout


def test_unknown_command_is_refused_with_the_list() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "app.cli", "nosuch"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 2
    assert "unknown command 'nosuch'" in done.stderr and "run" in done.stderr


def test_decide_help_explains_each_scope_in_a_sentence() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "app.cli", "decide", "--help"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    for scope in ("once", "session", "workspace", "always"):
        assert any(line.strip().startswith(scope + " ") for line in lines), scope
    assert "one request at a time" in " ".join(result.stdout.split())


def test_version_names_the_installed_version() -> None:
    from importlib.metadata import version

    for flag in ("--version", "-V"):
        out = subprocess.run(
            [sys.executable, "-m", "app.cli", flag], capture_output=True, text=True, check=True
        ).stdout
        assert out == f"sandgate {version('sandgate')}\n"
