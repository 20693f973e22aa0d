"""The policy loader: shipped profiles, merging, narrowing, and errors that name the line."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from sandbox.policy import PolicyError, load_policy

AGENTS = {
    "claude-code": ("claude", {"~/.claude", "~/.claude.json"}),
    "codex": ("codex", {"~/.codex"}),
    "gemini-cli": ("gemini", {"~/.gemini"}),
    "aider": ("aider", {"~/.aider"}),
}


@pytest.fixture
def defaults(resources: Path) -> Path:
    return resources / "policy" / "default.yaml"


def _write(tmp_path: Path, text: str, name: str = "policy.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize("profile", sorted(AGENTS))
def test_each_agent_profile_trusts_its_own_folder_and_nothing_of_the_others(
    defaults: Path, profile: str
) -> None:
    command, own = AGENTS[profile]
    policy = load_policy(defaults, command=[f"/usr/local/bin/{command}", "--flag"])
    assert policy.profile == profile
    trusted = {t.pattern for t in policy.trusted}
    assert own <= trusted
    for other, (_, theirs) in AGENTS.items():
        if other != profile:
            assert not (theirs & trusted), (profile, theirs & trusted)
    assert "~/.ssh/**" in policy.deny
    assert not any(t.pattern.startswith(("~/.ssh", "~/.aws", "~/.gnupg")) for t in policy.trusted)


def test_no_profile_for_an_unknown_command_and_an_unknown_name_is_an_error(
    defaults: Path,
) -> None:
    assert load_policy(defaults, command=["python3"]).profile is None
    with pytest.raises(PolicyError, match="unknown profile 'nope'"):
        load_policy(defaults, profile="nope")


def test_a_user_file_adds_to_sections_and_profiles(defaults: Path, tmp_path: Path) -> None:
    user = _write(
        tmp_path,
        """
trusted:
  - {path: ~/models, mode: ro}
network:
  allow: ["pypi.org", "*.github.com", "registry.npmjs.org:443", "127.0.0.1:8080", "10.0.0.0/8"]
  deny: ["*.pastebin.com"]
  resolve: {"api.test": "127.0.0.1"}
  upstream_ca: ~/certs/corp.pem
  ask_timeout: 30
credentials:
  - name: anthropic
    domain: api.anthropic.com
    header: x-api-key
    env: ANTHROPIC_API_KEY
profiles:
  claude-code:
    env:
      pass: [CLAUDE_CODE_USE_BEDROCK]
""",
    )
    policy = load_policy(defaults, user, profile="claude-code", home=Path("/home/u"))
    assert {"~/models", "~/.claude"} <= {t.pattern for t in policy.trusted}
    assert policy.network.allow == (
        "pypi.org",
        "*.github.com",
        "registry.npmjs.org:443",
        "127.0.0.1:8080",
        "10.0.0.0/8",
    )
    assert policy.network.deny == ("*.pastebin.com",)
    assert dict(policy.network.resolve) == {"api.test": "127.0.0.1"}
    assert policy.network.upstream_ca == Path("/home/u/certs/corp.pem")
    assert policy.network.ask_timeout == 30.0
    (cred,) = policy.credentials
    assert (cred.name, cred.domain, cred.header, cred.env) == (
        "anthropic",
        "api.anthropic.com",
        "x-api-key",
        "ANTHROPIC_API_KEY",
    )
    assert policy.env.pass_ == ("CLAUDE_CODE_USE_BEDROCK",)
    with pytest.raises(AttributeError):
        policy.deny = ()  # type: ignore[misc]


def test_a_workspace_file_narrows(defaults: Path, tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    workspace.mkdir()
    _write(
        workspace,
        """
deny: [~/work-secrets/**]
protected: [Makefile]
memory: [NOTES_FOR_AI.md]
env: {block: [NODE_OPTIONS]}
network: {deny: ["*.example.org"]}
""",
        ".sandgate.yaml",
    )
    policy = load_policy(defaults, workspace=workspace)
    assert "~/work-secrets/**" in policy.deny
    assert "Makefile" in policy.protected and "NOTES_FOR_AI.md" in policy.memory
    assert policy.env.block == ("NODE_OPTIONS",)
    assert policy.network.deny == ("*.example.org",)
    assert policy.sources[-1] == workspace / ".sandgate.yaml"


@pytest.mark.parametrize(
    ("text", "line", "problem"),
    [
        ("trusted: [~/.ssh]\n", 1, "'trusted' is not allowed in a workspace policy"),
        ("deny: []\nnetwork:\n  allow: [evil.com]\n", 3, "'network.allow' is not allowed"),
        ("env:\n  pass: [AWS_SECRET]\n", 2, "'env.pass' is not allowed"),
        ("env:\n  set: {LD_PRELOAD: /x.so}\n", 2, "'env.set' is not allowed"),
        ("credentials: []\n", 1, "'credentials' is not allowed"),
        ("expose: [~/.ssh/id_ed25519]\n", 1, "'expose' is not allowed"),
        ("scratch: [~/.x]\n", 1, "'scratch' is not allowed"),
        ("profiles: {}\n", 1, "'profiles' is not allowed"),
    ],
)
def test_a_workspace_file_can_never_widen(
    defaults: Path, tmp_path: Path, text: str, line: int, problem: str
) -> None:
    _write(tmp_path, text, ".sandgate.yaml")
    with pytest.raises(PolicyError) as caught:
        load_policy(defaults, workspace=tmp_path)
    assert caught.value.file == tmp_path / ".sandgate.yaml"
    assert caught.value.line == line
    assert problem in caught.value.problem


@pytest.mark.parametrize(
    ("text", "line", "problem"),
    [
        ("trusted:\n  - ~/.x\n  - {path: ~/.y, mode: rwx}\n", 3, "mode must be 'ro' or 'rw'"),
        ("version: 1\ntrustd: []\n", 2, "unknown key 'trustd'"),
        ("deny:\n  - ~/a\n  - relative/path\n", 3, "must start with ~/ or /"),
        ("deny: [~/a\n", 2, "not valid YAML"),
        ("network:\n  allow: pypi.org\n", 2, "allow must be a list"),
        ("network:\n  ask_timeout: soon\n", 2, "ask_timeout must be a positive number"),
        ("memory: [CLAUDE.md]\nmemory: [AGENTS.md]\n", 2, "given twice"),
        ("credentials:\n  - name: a\n    domain: b\n", 2, "a credential needs env, header"),
        (
            'profiles:\n  mine:\n    commands: [x]\n    trusted: ["~/"]\n',
            4,
            "your whole home folder",
        ),
        # A pattern anchored in the root or the home reaches everything under it.
        ('expose: ["~/.ssh/*"]\n', 1, "not a pattern"),
        ('trusted: ["/**"]\n', 1, "reaches into the whole disk"),
        ('trusted: ["/*"]\n', 1, "reaches into the whole disk"),
        ('trusted: ["/."]\n', 1, "reaches into the whole disk"),
        ('trusted:\n  - ~/.x\n  - "/r*"\n', 3, "reaches into the whole disk"),
        ('trusted: ["~/*"]\n', 1, "reaches into your whole home folder"),
        # Network rules are judged by the proxy's parser when the file is read.
        ('network:\n  allow:\n    - pypi.org\n    - "https://pypi.org"\n', 4, "port must be"),
        ('network:\n  allow: ["*.*"]\n', 2, "not a domain name"),
        ("network:\n  deny: [pypi.org/simple]\n", 2, "not a domain name"),
        ('network:\n  allow: ["pypi.org:99999"]\n', 2, "port must be 1-65535"),
        ("network:\n  resolve: {api.test: nowhere}\n", 2, "is not an address"),
        # A profile a user file adds must say what it is for: a typo is not a new profile.
        ("profiles:\n  claude-cod:\n    trusted: [~/x]\n", 2, "did you mean 'claude-code'"),
        ("protected: [../outside]\n", 1, "must not contain '..'"),
        ("version: 2\n", 1, "unsupported policy version"),
        ("env:\n  set: {A: 1}\n", 2, "must be a string"),
        ("- just\n- a list\n", 1, "the policy must be a mapping"),
    ],
)
def test_bad_files_name_the_file_and_line(
    defaults: Path, tmp_path: Path, text: str, line: int, problem: str
) -> None:
    bad = _write(tmp_path, text)
    with pytest.raises(PolicyError) as caught:
        load_policy(defaults, bad)
    assert caught.value.file == bad
    assert caught.value.line == line, caught.value
    assert problem in caught.value.problem
    assert str(caught.value).startswith(f"{bad}:{line}: ")
    assert bad.read_text() == text  # read only, never rewritten


def test_a_missing_file_is_an_error(defaults: Path, tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="no such file"):
        load_policy(defaults, tmp_path / "absent.yaml")


def test_policy_check_command(
    isolated_env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from app.commands import policy as command

    def run(*argv: str) -> int:
        parser = argparse.ArgumentParser()
        command.configure(parser)
        return command.main(parser.parse_args(list(argv)))

    workspace = tmp_path / "ws"
    workspace.mkdir()
    assert run("check", "--workspace", str(workspace), "--profile", "codex") == 0
    out = capsys.readouterr().out
    assert "profile: codex" in out and "~/.codex" in out
    bad = _write(tmp_path, "trusted:\n  - {path: ~/x, mode: w}\n")
    assert run("check", str(bad), "--workspace", str(workspace)) == 1
    err = capsys.readouterr().err
    assert f"{bad}:2: mode must be 'ro' or 'rw'" in err
