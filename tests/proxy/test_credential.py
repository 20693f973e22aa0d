"""`sandgate credential` with a keyring of the test's own (a file in tmp): never the real one."""

from __future__ import annotations

import io
from pathlib import Path

import keyring
import pytest

from tests.file_keyring import FileKeyring


@pytest.fixture
def test_keyring(isolated_env: Path, tmp_path: Path):
    previous = keyring.get_keyring()
    backend = FileKeyring(tmp_path / "keyring.json")
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


def test_add_list_remove(test_keyring: FileKeyring, monkeypatch, capsys) -> None:
    from app.cli import main
    from app.paths import Paths
    from app.service.egress import credentials_file
    from app.service.egress_credentials import secret_for

    monkeypatch.setattr("sys.stdin", io.StringIO("sk-ant-api03-THESECRET\n"))
    code = main(
        ["credential", "add", "anthropic", "--domain", "API.anthropic.com", "--header", "x-api-key"]
    )
    assert code == 0
    assert "ANTHROPIC_API_KEY" in capsys.readouterr().out
    assert secret_for("anthropic") == "sk-ant-api03-THESECRET"
    index = credentials_file(Paths.from_environment().config)
    assert index.stat().st_mode & 0o777 == 0o600
    assert "THESECRET" not in index.read_text()  # the index holds no secret
    assert main(["credential", "list"]) == 0
    listed = capsys.readouterr().out
    assert "anthropic  domain api.anthropic.com  header x-api-key" in listed
    assert "THESECRET" not in listed
    assert main(["credential", "remove", "anthropic"]) == 0
    assert secret_for("anthropic") is None
    assert main(["credential", "remove", "anthropic"]) == 1


def test_add_refuses_empty_secret_and_bad_names(test_keyring, monkeypatch, capsys) -> None:
    from app.cli import main

    monkeypatch.setattr("sys.stdin", io.StringIO("\n"))
    assert main(["credential", "add", "x", "--domain", "a.test", "--header", "h"]) == 2
    monkeypatch.setattr("sys.stdin", io.StringIO("s\n"))
    assert main(["credential", "add", "../x", "--domain", "a.test", "--header", "h"]) == 2


def test_add_for_a_vendor_knows_its_domain_header_and_variable(
    test_keyring: FileKeyring, monkeypatch, capsys
) -> None:
    from app.cli import main
    from app.paths import Paths
    from app.service.egress import credentials_file
    from app.service.egress_credentials import CredentialIndex, secret_for

    for vendor, domain, header, env in (
        ("anthropic", "api.anthropic.com", "x-api-key", "ANTHROPIC_API_KEY"),
        ("openai", "api.openai.com", "authorization", "OPENAI_API_KEY"),
        ("gemini", "generativelanguage.googleapis.com", "x-goog-api-key", "GEMINI_API_KEY"),
    ):
        monkeypatch.setattr("sys.stdin", io.StringIO(f"key-of-{vendor}-0123456789\n"))
        assert main(["credential", "add", vendor]) == 0
        assert f"{vendor}'s endpoints" in capsys.readouterr().out
        binding = CredentialIndex(credentials_file(Paths.from_environment().config)).load()[vendor]
        assert (binding.domain, binding.header, binding.env) == (domain, header, env)
        assert secret_for(vendor) == f"key-of-{vendor}-0123456789"
    monkeypatch.setattr("sys.stdin", io.StringIO("x\n"))
    assert main(["credential", "add", "nobody-knows"]) == 2
    assert "give --domain and --header" in capsys.readouterr().err


def test_no_keyring_backend_gives_a_sentence_with_the_fix(isolated_env: Path) -> None:
    """keyring's own "fail" backend (what a machine without a keyring daemon gets)."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
    result = subprocess.run(
        [sys.executable, "-m", "app.cli", "credential", "add", "anthropic"],
        input="sk-ant-api03-SECRETSECRETSECRET\n", env=env, capture_output=True, text=True,
        timeout=30,
    )  # fmt: skip
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "no usable keyring" in result.stderr and "gnome-keyring" in result.stderr
    assert "$ANTHROPIC_API_KEY" in result.stderr  # the other way to log the agent in
    assert "SECRETSECRET" not in result.stderr + result.stdout
    removed = subprocess.run(
        [sys.executable, "-m", "app.cli", "credential", "remove", "anthropic"],
        env=env, capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert removed.returncode == 1 and "Traceback" not in removed.stderr
