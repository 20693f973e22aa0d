"""Behaviours 1–5 of sandbox-behaviours.md with a real bwrap."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tests.sandbox.conftest import Box


def test_1_writes_outside_the_workspace_fail_and_leave_nothing_on_the_host(
    box: Box, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    result = box.run(
        f"""
        for target in /etc/sg-x /usr/sg-x /opt/sg-x {outside}/x /sg-x; do
          if echo bad > "$target" 2>/dev/null; then echo "WROTE $target"; fi
        done
        for target in ~/notes.txt ~/.bashrc ~/.newdir/x; do
          if echo bad > "$target" 2>/dev/null; then echo "WROTE $target"; fi
        done
        mkdir ~/.newdir 2>/dev/null && echo "WROTE ~/.newdir"
        echo scratch > ~/.cache/x && echo scratch > /tmp/sg-scratch && echo done
        """
    )
    assert result.returncode == 0, result.stderr
    assert "WROTE" not in result.stdout, result.stdout
    assert result.stdout.strip().endswith("done")
    # Scratch folders and /tmp inside are private and discarded: nothing reaches the host.
    assert not (box.home / ".cache" / "x").exists()
    assert not (box.home / "notes.txt").exists() and not (box.home / ".bashrc").exists()
    assert not Path("/tmp/sg-scratch").exists()
    assert list(outside.iterdir()) == []
    assert not Path("/etc/sg-x").exists()


def test_1_host_paths_outside_are_not_even_visible(box: Box, tmp_path: Path) -> None:
    secret = tmp_path / "elsewhere.txt"
    secret.write_text("host only")
    result = box.run(f"cat {secret}; ls /root /home /mnt /media /work 2>&1 | head -5")
    assert "host only" not in result.stdout
    assert "No such file" in result.stderr or "No such file" in result.stdout


def test_2_a_write_inside_the_workspace_lands_on_the_host(box: Box) -> None:
    result = box.run("mkdir -p src && echo 'print(1)' > src/main.py && pwd")
    assert result.returncode == 0, result.stderr
    assert (box.workspace / "src" / "main.py").read_text() == "print(1)\n"
    assert result.stdout.strip() == str(box.workspace)


def test_3_the_home_is_hidden_except_trusted_paths(box: Box) -> None:
    (box.home / "Documents").mkdir()
    (box.home / "Documents" / "diary.txt").write_text("private")
    (box.home / ".gitconfig").write_text("[user]\n\tname = Test\n")
    (box.home / "tools").mkdir()
    (box.home / "tools" / "ref.txt").write_text("reference")
    (box.home / ".cache" / "thing").mkdir(parents=True)
    box.policy_yaml = """
trusted:
  - ~/tools
  - {path: ~/.cache/thing, mode: rw}
"""
    result = box.run(
        """
        ls -A ~ | sort | tr '\\n' ' '; echo
        cat ~/Documents/diary.txt 2>&1 || true
        cat ~/tools/ref.txt; cat ~/.gitconfig
        echo no > ~/tools/ref.txt 2>/dev/null && echo WROTE-RO
        echo new > ~/tools/new 2>/dev/null && echo WROTE-RO-DIR
        echo yes > ~/.cache/thing/out && echo WROTE-RW
        """
    )
    listing = result.stdout.splitlines()[0].split()
    assert "Documents" not in listing
    assert "private" not in result.stdout
    assert "reference" in result.stdout and "name = Test" in result.stdout
    assert "WROTE-RO" not in result.stdout.replace("WROTE-RW", "")
    assert "WROTE-RW" in result.stdout
    assert (box.home / ".cache" / "thing" / "out").read_text() == "yes\n"
    assert (box.home / "tools" / "ref.txt").read_text() == "reference"


def test_3_profiles_trust_the_agent_folder_and_create_it(box: Box) -> None:
    box.profile = "codex"
    (box.home / ".claude").mkdir()
    (box.home / ".claude" / "x").write_text("other agent")
    result = box.run("echo state > ~/.codex/state.json && ls -A ~")
    assert result.returncode == 0, result.stderr
    assert (box.home / ".codex" / "state.json").read_text() == "state\n"
    assert ".claude" not in result.stdout.split()


def test_3_sandgates_own_folders_stay_hidden_inside_a_trusted_folder(box: Box) -> None:
    (box.home / ".config" / "sandgate").mkdir(parents=True)
    (box.home / ".config" / "sandgate" / "policy.yaml").write_text("trusted: []\n")
    box.policy_yaml = "trusted:\n  - {path: ~/.config, mode: rw}\n"
    result = box.run("ls -A ~/.config/sandgate; echo x > ~/.config/sandgate/policy.yaml; echo ok")
    assert "policy.yaml" not in result.stdout
    assert (box.home / ".config" / "sandgate" / "policy.yaml").read_text() == "trusted: []\n"


def _plant_credentials(home: Path) -> dict[str, str]:
    real = {
        ".aws/credentials": "[default]\naws_secret_access_key = REALAWSSECRET\n",
        ".ssh/id_ed25519": "-----BEGIN OPENSSH PRIVATE KEY-----\nREALSSHKEY\n",
        ".netrc": "machine example.com login me password REALNETRC\n",
        ".config/gh/hosts.yml": "github.com:\n  oauth_token: REALGH\n",
        ".docker/config.json": '{"auths": {"x": {"auth": "REALDOCKER"}}}',
        ".kube/config": "users:\n- token: REALKUBE\n",
        ".mozilla/firefox/abc.default/key4.db": "REALFIREFOX",
    }
    for relative, text in real.items():
        path = home / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return real


def test_4_credential_locations_show_decoys_with_canaries(box: Box) -> None:
    _plant_credentials(box.home)
    plan = box.plan(["/bin/true"])
    assert {d.credential_id for d in plan.decoys} == {"aws", "ssh", "netrc", "gh", "docker", "kube"}
    result = box.run(
        "cat ~/.aws/credentials ~/.ssh/id_ed25519 ~/.netrc ~/.config/gh/hosts.yml "
        "~/.docker/config.json ~/.kube/config; cat ~/.mozilla/firefox/*/key4.db; "
        "echo x > ~/.aws/credentials 2>/dev/null && echo WROTE"
    )
    assert "REAL" not in result.stdout
    assert "WROTE" not in result.stdout
    for canary in box.canaries[-6:]:
        assert canary in result.stdout
    assert "[default]" in result.stdout and "BEGIN OPENSSH PRIVATE KEY" in result.stdout
    assert "machine " in result.stdout and '"auths"' in result.stdout


def test_4_credentials_inside_a_trusted_folder_are_still_decoys(box: Box) -> None:
    _plant_credentials(box.home)
    box.policy_yaml = "trusted:\n  - ~/.config\n  - ~/.mozilla\n"
    result = box.run("cat ~/.config/gh/hosts.yml; cat ~/.mozilla/firefox/*/key4.db; echo .")
    assert "REAL" not in result.stdout
    assert "oauth_token: sgc-gh-" in result.stdout


def test_4_a_decoy_read_inside_is_seen_on_the_host_copy(box: Box) -> None:
    """The service watches the host file; inotify sees opens made through the bind."""
    from watchdog.events import FileOpenedEvent, FileSystemEventHandler
    from watchdog.observers.inotify import InotifyObserver

    _plant_credentials(box.home)
    plan = box.plan(["/bin/sh", "-c", "cat ~/.aws/credentials > /dev/null"])
    decoy = next(d for d in plan.decoys if d.credential_id == "aws")
    opened = threading.Event()

    class Handler(FileSystemEventHandler):
        def on_opened(self, event: FileOpenedEvent) -> None:  # type: ignore[override]
            if Path(str(event.src_path)) == decoy.host_file:
                opened.set()

    observer = InotifyObserver()
    observer.schedule(Handler(), str(decoy.host_file.parent), event_filter=[FileOpenedEvent])
    observer.start()
    try:
        import subprocess

        subprocess.run(plan.argv, env=dict(plan.env), check=True, timeout=10)
        assert opened.wait(1.0), "no open event within a second"
    finally:
        observer.stop()
        observer.join()


def test_5_symlinks_out_hard_links_out_and_mknod_fail(box: Box, tmp_path: Path) -> None:
    target = tmp_path / "outside.txt"
    target.write_text("original")
    (box.home / ".gitconfig").write_text("[user]\n")
    (box.workspace / "link").symlink_to(target)
    (box.workspace / "link-etc").symlink_to("/etc/hostname")
    (box.workspace / "link-trusted").symlink_to(box.home / ".gitconfig")
    (box.home / ".profile").write_text("original")
    (box.workspace / "link-home").symlink_to(box.home / ".profile")
    result = box.run(
        f"""
        echo changed > link-etc 2>/dev/null && echo WROTE-ETC
        echo changed > link-trusted 2>/dev/null && echo WROTE-TRUSTED
        echo changed > link-home 2>/dev/null && echo WROTE-HOME
        ln /etc/hostname hard 2>/dev/null && echo HARDLINK-ETC
        ln ~/.gitconfig hard2 2>/dev/null && echo HARDLINK-HOME
        ln {target} hard3 2>/dev/null && echo HARDLINK-OUTSIDE
        mknod dev c 1 3 2>/dev/null && echo MKNOD
        mknod blk b 8 0 2>/dev/null && echo MKNOD-BLOCK
        cat link 2>/dev/null
        echo changed > link 2>/dev/null
        echo end
        """
    )
    assert result.stdout.split() == ["end"], result.stdout
    # A link to a hidden host file leads into the sandbox's scratch space at most.
    assert target.read_text() == "original"
    assert (box.home / ".gitconfig").read_text() == "[user]\n"
    assert (box.home / ".profile").read_text() == "original"
    assert not (box.workspace / "hard3").exists()


def test_4_wide_catalogue_patterns_look_only_where_the_sandbox_shows(box: Box) -> None:
    from sandbox.decoys import CredentialLocation

    box.catalogue = (
        CredentialLocation("env-file", ".env", ("**/.env",), "env"),
        CredentialLocation("vault", "KeePass", ("~/**/*.kdbx",), "none"),
        CredentialLocation("claude", "Claude", ("~/.claude.json",), "json"),
    )
    (box.workspace / "app").mkdir()
    (box.workspace / "app" / ".env").write_text("DB_PASSWORD=REALENV\n")
    (box.home / "Private").mkdir()
    (box.home / "Private" / "hidden.kdbx").write_text("REALVAULT-HIDDEN")
    (box.home / "shared").mkdir()
    (box.home / "shared" / "shown.kdbx").write_text("REALVAULT-SHOWN")
    (box.home / ".claude.json").write_text('{"real": "REALCLAUDE"}')
    box.policy_yaml = (
        "trusted:\n  - ~/shared\n  - {path: ~/.claude.json, mode: rw}\nexpose: [~/.claude.json]\n"
    )
    plan = box.plan(["/bin/true"])
    assert [d.credential_id for d in plan.decoys] == ["env-file"]
    assert any("the policy exposes it" in notice for notice in plan.notices)
    result = box.run("cat app/.env ~/shared/shown.kdbx ~/.claude.json; echo")
    assert "REALENV" not in result.stdout and "API_KEY=sgc-env-file-" in result.stdout
    assert "REALVAULT" not in result.stdout
    assert "REALCLAUDE" in result.stdout  # exposed: the agent's own config, by choice


def test_4_a_credential_trusted_by_its_exact_name_still_shows_a_decoy(box: Box) -> None:
    """Exposing a credential is a choice of its own (`expose:`), never a side effect of
    trusting its path: trusted by name, the real key stays out and the run says why."""
    (box.home / ".ssh").mkdir()
    (box.home / ".ssh" / "id_ed25519").write_text("REALKEY\n")
    box.policy_yaml = "trusted:\n  - ~/.ssh/id_ed25519\n"
    plan = box.plan(["/bin/true"])
    assert [d.credential_id for d in plan.decoys] == ["ssh"]
    assert any("sees a decoy there" in n and "expose:" in n for n in plan.notices)
    result = box.run("cat ~/.ssh/id_ed25519; echo end")
    assert "REALKEY" not in result.stdout and result.stdout.strip().endswith("end")


def test_a_workspace_the_policy_hides_or_the_whole_home_is_refused(box: Box) -> None:
    import pytest

    from sandbox.plan import PlanError

    secret = box.home / "vault" / "project"
    secret.mkdir(parents=True)
    box.policy_yaml = "trusted:\n  - ~/vault\ndeny:\n  - ~/vault/**\n"
    box.workspace = secret
    with pytest.raises(PlanError, match="which the policy hides"):
        box.plan(["/bin/true"])
    box.workspace = box.home
    with pytest.raises(PlanError, match="whole home"):
        box.plan(["/bin/true"])
