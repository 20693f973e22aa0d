"""The `logins` section: each shipped profile knows its vendor; mistakes name the line."""

from __future__ import annotations

from pathlib import Path

import pytest

from sandbox.policy import PolicyError, load_policy


@pytest.fixture
def defaults(resources: Path) -> Path:
    return resources / "policy" / "default.yaml"


@pytest.mark.parametrize(
    ("command", "vendor", "api", "file"),
    [
        ("claude", "anthropic", "api.anthropic.com", "~/.claude/.credentials.json"),
        ("codex", "openai", "api.openai.com", "~/.codex/auth.json"),
        ("gemini", "gemini", "generativelanguage.googleapis.com", "~/.gemini/oauth_creds.json"),
    ],
)
def test_each_agent_profile_names_its_vendor(
    defaults: Path, command: str, vendor: str, api: str, file: str
) -> None:
    [login] = load_policy(defaults, command=[command]).logins
    assert (login.vendor, login.api) == (vendor, api)
    assert login.endpoints[0] == api and len(login.endpoints) > 1
    assert file in login.files


def test_aider_takes_either_key_and_a_plain_command_has_no_login(defaults: Path) -> None:
    vendors = {x.vendor for x in load_policy(defaults, command=["aider"]).logins}
    assert vendors == {"anthropic", "openai"}
    assert load_policy(defaults, command=["sh"]).logins == ()


def test_a_later_file_replaces_a_vendors_login(defaults: Path, tmp_path: Path) -> None:
    user = tmp_path / "user.yaml"
    user.write_text(
        "profiles:\n  claude-code:\n    logins:\n"
        "      - {vendor: anthropic, api: api.anthropic.com, header: x-api-key,"
        " env: ANTHROPIC_API_KEY, domains: [proxy.corp.test]}\n"
    )
    [login] = load_policy(defaults, user, command=["claude"]).logins
    assert login.domains == ("proxy.corp.test",) and login.files == ()


@pytest.mark.parametrize(
    ("text", "line", "problem"),
    [
        ("logins:\n  - {vendor: a, api: x.test}\n", 2, "a login needs header, env"),
        ("logins:\n  - {vendor: a, api: '*.x.test', header: h, env: E}\n", 2, "plain host name"),
        ("logins:\n  - {vendor: a, api: x.test, header: h, env: E, files: [rel/f]}\n", 2,
         "must start with ~/ or /"),
        ("logins: {vendor: a}\n", 1, "logins must be a list"),
        ("logins:\n  - {vendor: a, api: x.test, header: h, env: E, port: 1}\n", 2,
         "unknown key 'port'"),
    ],
)  # fmt: skip
def test_mistakes_name_the_file_and_line(
    defaults: Path, tmp_path: Path, text: str, line: int, problem: str
) -> None:
    user = tmp_path / "user.yaml"
    user.write_text(text)
    with pytest.raises(PolicyError) as caught:
        load_policy(defaults, user)
    assert str(caught.value).startswith(f"{user}:{line}: ")
    assert problem in str(caught.value)


def test_a_workspace_file_cannot_name_logins(defaults: Path, tmp_path: Path) -> None:
    (tmp_path / ".sandgate.yaml").write_text(
        "logins:\n  - {vendor: a, api: evil.test, header: h, env: E}\n"
    )
    with pytest.raises(PolicyError, match="not allowed in a workspace policy"):
        load_policy(defaults, workspace=tmp_path)
