"""The generated profile, read back and decided as SBPL does, for each behaviour of the
sandbox list that Seatbelt owns (numbers as in the list), with tricky folder names."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sandbox.filesystem import PlanError
from sandbox.proxy.plan import NetworkPlan, proxy_env

from .conftest import World, profile_text
from .sbpl_model import decide, matching_filters, rules


def _can(text: str, operation: str, path: Path | str) -> bool:
    return decide(text, operation, str(path)) == "allow"


def test_deny_by_default(world: World) -> None:
    text = profile_text(world.plan())
    first = rules(text)[0]
    assert (first.action, first.operations) == ("deny", ("default",))
    assert decide(text, "iokit-open", "IOSurfaceRootUserClient") == "deny"
    assert decide(text, "file-write-data", "/usr/bin/ls") == "deny"


# 1, 2: writes only inside the workspace and read-write trusted paths.
def test_writes_confined_to_the_workspace(world: World) -> None:
    text = profile_text(world.plan())
    assert _can(text, "file-write-create", world.workspace / "src" / "main.py")
    assert _can(text, "file-write-data", world.workspace / "README.md")
    assert _can(text, "file-read-data", world.workspace / "README.md")
    for outside in (
        world.home / "notes.txt",
        world.workspace.parent / "sibling.txt",
        Path("/usr/local/bin/evil"),
        Path("/private/tmp/drop"),
        Path("/Library/LaunchAgents/x.plist"),
    ):
        assert not _can(text, "file-write-create", outside), outside


# 3: the home is hidden except the trusted paths; a read-only trusted path stays so.
def test_home_hidden_except_trusted(world: World) -> None:
    (world.home / ".gitconfig").write_text("[user]\n")
    text = profile_text(world.plan())
    assert not _can(text, "file-read-data", world.home / "Documents" / "taxes.pdf")
    assert not _can(text, "file-read-data", world.home)  # no listing of the home
    assert _can(text, "file-read-metadata", world.home)  # but a path through it resolves
    assert _can(text, "file-read-data", world.home / ".gitconfig")
    assert not _can(text, "file-write-data", world.home / ".gitconfig")


def test_read_write_trusted_folder(world: World) -> None:
    world.profile = "claude-code"
    text = profile_text(world.plan())
    assert (world.home / ".claude").is_dir()  # `create: true`
    assert _can(text, "file-write-create", world.home / ".claude" / "projects" / "a.jsonl")
    # The agent's own settings are written in place and reviewed (sandbox/agent_settings);
    # its hooks folder, which runs programs, stays protected.
    assert _can(text, "file-write-data", world.home / ".claude" / "settings.json")
    assert not _can(text, "file-write-create", world.home / ".claude" / "hooks" / "pre.sh")


# 4: credential locations are refused even inside allowed folders; no decoys on macOS.
def test_credentials_refused_everywhere(world: World) -> None:
    world.profile = "claude-code"
    plan = world.plan()
    text = profile_text(plan)
    assert plan.decoys == () and plan.canaries == ()
    for path in (
        world.home / ".aws" / "credentials",
        world.home / ".ssh" / "id_ed25519",
        world.home / ".config" / "gh" / "hosts.yml",
        world.home / ".netrc",
        world.home / ".docker" / "config.json",
        world.home / ".kube" / "config",
        world.home / ".claude" / ".credentials.json",  # inside a read-write trusted folder
        world.workspace / ".env",
        world.workspace / "deep" / "er" / ".env.local",
        Path("/Volumes/other disk/project/.env"),  # `**/` is never anchored to the workspace
        Path("/Library/Keychains/System.keychain"),
    ):
        assert not _can(text, "file-read-data", path), path
        assert not _can(text, "file-write-data", path), path
    assert _can(text, "file-read-data", world.workspace / ".env.example")
    assert _can(text, "file-read-data", world.workspace / "not.env")


def test_a_credential_is_shown_only_where_expose_names_it(world: World) -> None:
    world.profile = "claude-code"  # its state file ~/.claude.json: no copy on macOS
    world.policy_yaml = "trusted:\n  - ~/.ssh/id_ed25519\n"  # trusted by name only
    plan = world.plan()
    text = profile_text(plan)
    assert _can(text, "file-read-data", world.home / ".claude.json")
    assert any("is shown as it is on macOS" in n for n in plan.notices), plan.notices
    assert not _can(text, "file-read-data", world.home / ".ssh" / "id_ed25519")


def test_no_hard_link_or_clone_gives_a_hidden_file_another_name(world: World) -> None:
    text = profile_text(world.plan())
    for path in (world.workspace / "copy", world.workspace / ".env"):
        assert decide(text, "file-link", str(path)) == "deny"
        assert decide(text, "file-clone", str(path)) == "deny"


def test_folder_holding_a_credential_cannot_be_moved_away(plain: World) -> None:
    plain.profile = "claude-code"
    text = profile_text(plain.plan())
    claude = plain.home / ".claude"
    assert not _can(text, "file-write-unlink", claude)  # mv ~/.claude ws/x would carry it out
    assert _can(text, "file-write-unlink", claude / "todos" / "old.json")


def test_policy_deny_inside_trusted_folder(plain: World) -> None:
    plain.policy_yaml = (
        "version: 1\ntrusted:\n  - {path: ~/data, mode: rw, create: true}\n"
        "deny:\n  - ~/data/private/**\n  - ~/data/*.key\n"
    )
    text = profile_text(plain.plan())
    data = plain.home / "data"
    assert _can(text, "file-write-data", data / "ok.txt")
    assert not _can(text, "file-read-data", data / "private")
    assert not _can(text, "file-read-data", data / "private" / "a" / "b")
    assert not _can(text, "file-read-data", data / "server.key")
    assert _can(text, "file-read-data", data / "sub" / "server.key")  # `*` stays in one folder


# 6: protected files read-only inside the workspace; normal files and git's data writable.
def test_protected_files(world: World) -> None:
    text = profile_text(world.plan())
    ws = world.workspace
    for path in (
        ".bashrc",
        ".zshrc",
        ".git/hooks/pre-commit",
        ".git/config",
        ".gitmodules",
        ".mcp.json",
        ".claude/settings.json",
        ".claude/settings.local.json",
        ".claude/commands/deploy.md",
        ".claude/agents/a.md",
        ".vscode/tasks.json",
        ".idea/workspace.xml",
        ".git/modules/lib/hooks/post-checkout",
    ):
        assert not _can(text, "file-write-create", ws / path), path
        assert _can(text, "file-read-data", ws / path), path
    for path in ("src/app.py", ".git/objects/ab/cdef", ".git/refs/heads/main", ".git/index"):
        assert _can(text, "file-write-create", ws / path), path


def test_protected_patterns_hold_in_writable_trusted_folders(plain: World) -> None:
    plain.profile = "claude-code"
    text = profile_text(plain.plan())
    repo = plain.home / ".claude" / "plugins" / "repo"
    assert _can(text, "file-write-data", repo / "x.py")
    # `.git/hooks/**` is relative: it holds at the top of every writable tree.
    assert not _can(text, "file-write-create", plain.home / ".claude" / ".git" / "hooks" / "x")


def test_linked_worktree_git_dir(plain: World, tmp_path: Path) -> None:
    common = tmp_path / "repo" / ".git"
    git_dir = common / "worktrees" / "ws"
    (git_dir / "hooks").mkdir(parents=True)
    (git_dir / "HEAD").write_text("ref: refs/heads/x\n")
    (git_dir / "commondir").write_text("../..\n")
    (plain.workspace / ".git").write_text(f"gitdir: {git_dir}\n")
    text = profile_text(plain.plan())
    assert _can(text, "file-write-data", common / "objects" / "ab" / "cd")
    assert not _can(text, "file-write-data", common / "hooks" / "pre-commit")
    assert not _can(text, "file-write-data", common / "config")


# 7: memory files are written freely (the watcher reports the change).
def test_memory_files_writable_and_watched(world: World) -> None:
    plan = world.plan()
    text = profile_text(plan)
    assert _can(text, "file-write-data", world.workspace / "CLAUDE.md")
    assert _can(text, "file-write-data", world.workspace / "AGENTS.md")
    assert world.workspace / "CLAUDE.md" in plan.memory_files


def test_memory_files_in_a_bracketed_workspace(plain: World, tmp_path: Path) -> None:
    plain.workspace = tmp_path / "proj [v2]"
    plain.workspace.mkdir()
    assert plain.workspace / "CLAUDE.md" in plain.plan().memory_files


def test_sandgate_folders_hidden_but_session_scratch_writable(world: World) -> None:
    plan = world.plan()
    text = profile_text(plan)
    assert not _can(text, "file-read-data", world.state / "sandgate.db")
    assert not _can(text, "file-read-data", world.home / ".config" / "sandgate" / "policy.yaml")
    tmp = Path(plan.env["TMPDIR"])
    assert tmp.is_dir() and world.session_dir in tmp.parents
    assert _can(text, "file-write-create", tmp / "npm-123" / "x")
    cache = Path(plan.env["XDG_CACHE_HOME"])
    assert _can(text, "file-write-create", cache / "pip" / "wheel")
    assert not _can(text, "file-read-data", tmp / ".env")  # a credential name stays hidden


# 8, 20: no network at all without the proxy.
def test_no_network_without_proxy(world: World) -> None:
    text = profile_text(world.plan())
    for target in ("remote ip 1.1.1.1:443", "remote ip localhost:3128", "remote ip *:53"):
        assert decide(text, "network-outbound", target) == "deny", target
    assert decide(text, "network-outbound", "/private/var/run/mDNSResponder") == "deny"
    assert decide(text, "network-bind", "local ip localhost:8080") == "deny"


def test_network_only_to_the_proxy_port(world: World) -> None:
    socket = world.state / "proxy sock" / "s1.sock"
    bundle = world.state / "ca bundle.pem"
    network = NetworkPlan(socket, 3129, proxy_env(3129), bundle)
    plan = world.plan(network=network)
    text = profile_text(plan)
    assert decide(text, "network-outbound", "remote ip localhost:3129") == "allow"
    assert decide(text, "network-outbound", str(socket)) == "allow"
    for target in ("remote ip localhost:22", "remote ip 93.184.216.34:443", "remote ip *:*"):
        assert decide(text, "network-outbound", target) == "deny", target
    # Binding the relay's port must not open outbound traffic: no outbound rule names
    # the local end, which every connection has.
    assert decide(text, "network-bind", "local ip localhost:3129") == "allow"
    assert decide(text, "network-bind", "local ip localhost:8080") == "deny"
    assert decide(text, "network-outbound", "local ip localhost:3129") == "deny"
    assert "network-outbound (local" not in text
    assert plan.env["HTTPS_PROXY"] == "http://127.0.0.1:3129"
    assert plan.env["SSL_CERT_FILE"] == str(bundle)
    assert _can(text, "file-read-data", bundle)
    # The relay starts in the socket's folder, which lies in Sandgate's hidden state.
    assert _can(text, "file-read-metadata", socket.parent)
    assert not _can(text, "file-read-data", socket.parent)
    assert plan.argv[3:5] == ("/bin/sh", "-c") and "TCP-LISTEN:3129" in plan.argv[5]


def test_trustd_only_when_asked(plain: World) -> None:
    network = NetworkPlan(plain.state / "p.sock", 3128, proxy_env(3128), None)
    plan = plain.plan(network=network)
    text = profile_text(plan)
    assert decide(text, "mach-lookup", "com.apple.trustd.agent") == "deny"
    assert any("trustd" in notice for notice in plan.notices)
    from sandbox.seatbelt.plan import build_seatbelt_plan

    allowed = build_seatbelt_plan(
        plain.policy(),
        plain.workspace,
        plain.home,
        plain.session_dir,
        ["/bin/true"],
        plain.env(),
        str,
        network,
        trustd=True,
    )
    assert decide(profile_text(allowed), "mach-lookup", "com.apple.trustd.agent") == "allow"


# 17: host services: the keychain, the pasteboard, launchd's services, host sockets.
def test_host_services_unreachable(plain: World) -> None:
    text = profile_text(plain.plan())
    assert decide(text, "mach-lookup", "com.apple.system.opendirectoryd.libinfo") == "allow"
    for service in (
        "com.apple.SecurityServer",
        "com.apple.securityd",
        "com.apple.pasteboard.1",
        "com.apple.coreservices.launchservicesd",
    ):
        assert decide(text, "mach-lookup", service) == "deny", service
    for socket in ("/var/run/docker.sock", str(plain.home / ".ssh" / "agent.sock")):
        assert decide(text, "network-outbound", socket) == "deny"


# 16: secrets in the environment are withheld.
def test_secret_environment_withheld(plain: World) -> None:
    plan = plain.plan(env={"AWS_SECRET_ACCESS_KEY": "x", "GITHUB_TOKEN": "y", "EDITOR": "vi"})
    assert "AWS_SECRET_ACCESS_KEY" not in plan.env and "GITHUB_TOKEN" not in plan.env
    assert plan.env["EDITOR"] == "vi"
    assert plan.env["HOME"] == str(plain.home)


# 18: processes of this sandbox only.
def test_processes_of_this_sandbox_only(plain: World) -> None:
    text = profile_text(plain.plan())
    assert decide(text, "signal", "same-sandbox") == "allow"
    assert decide(text, "signal", "others") == "deny"
    assert decide(text, "process-info-pidinfo", "others") == "deny"


def test_terminal_only_with_tty(plain: World) -> None:
    without = profile_text(plain.plan())
    assert decide(without, "file-ioctl", "/dev/tty") == "deny"
    assert decide(without, "file-ioctl", "/dev/ttys003") == "deny"  # no TIOCSTI
    plan = plain.plan(tty=True)
    text = profile_text(plan)
    assert decide(text, "file-ioctl", "/dev/tty") == "allow"
    assert decide(text, "file-ioctl", "/dev/ttys003") == "allow"  # its inherited terminal
    assert decide(text, "file-write-data", "/dev/ttys004") == "deny"  # another, not opened
    assert any("TIOCSTI" in notice for notice in plan.notices)


def test_literal_path_with_brackets_stays_literal(plain: World, tmp_path: Path) -> None:
    workspace = tmp_path / "a[b]c"
    workspace.mkdir()
    plain.workspace = workspace
    text = profile_text(plain.plan())
    assert f'(subpath "{workspace}")' in text
    assert _can(text, "file-write-data", workspace / "x.py")
    assert not _can(text, "file-write-data", tmp_path / "abc" / "x.py")  # not a class


def test_deny_pattern_with_brackets_gets_both_readings(plain: World) -> None:
    plain.policy_yaml = "version: 1\ndeny:\n  - ~/vault[12]/**\n"
    text = profile_text(plain.plan())
    for path in ("vault1/k", "vault2/k", "vault[12]/k"):
        assert not _can(text, "file-read-data", plain.home / path), matching_filters(
            text, "file-read-data", str(plain.home / path)
        )


def test_quote_cannot_inject_a_rule(plain: World, tmp_path: Path) -> None:
    workspace = tmp_path / 'x")) (allow default) ;'
    workspace.mkdir()
    plain.workspace = workspace
    text = profile_text(plain.plan())
    assert not any(r.action == "allow" and r.operations == ("default",) for r in rules(text))
    assert _can(text, "file-write-data", workspace / "f")


def test_control_character_refused_with_a_sentence(plain: World, tmp_path: Path) -> None:
    workspace = tmp_path / "line\nbreak"
    workspace.mkdir()
    plain.workspace = workspace
    with pytest.raises(PlanError, match="control character"):
        plain.plan()


def test_long_profile_goes_through_a_file(plain: World) -> None:
    short = plain.plan()
    assert short.argv[1] == "-p" and not (plain.session_dir / "seatbelt.sb").exists()
    plain.policy_yaml = "version: 1\ndeny:\n" + "".join(
        f"  - ~/secret-{i:04d}-{'x' * 40}/**\n" for i in range(800)
    )
    long = plain.plan()
    assert long.argv[1] == "-f"
    path = Path(long.argv[2])
    assert path.parent == plain.session_dir
    assert os.stat(path).st_mode & 0o777 == 0o600
    text = profile_text(long)
    assert len(text) > 32 * 1024
    assert not _can(text, "file-read-data", plain.home / f"secret-0799-{'x' * 40}" / "k")
    assert long.argv[3:] == ("/bin/echo", "hi")


def test_workspace_checks(plain: World, tmp_path: Path) -> None:
    plain.workspace = plain.home
    with pytest.raises(PlanError, match="whole home"):
        plain.plan()
    plain.workspace = tmp_path / "missing"
    with pytest.raises(PlanError, match="not a folder"):
        plain.plan()
