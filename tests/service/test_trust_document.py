"""The policy editor's core: round-trip edits that keep comments, the loader's check
before any write, the atomic write with its backup, and a workspace file that narrows."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from app.trust.document import reread
from app.trust.saving import ChangedOnDisk, PolicyFiles, effective, save
from sandbox.policy import PolicyError, load_policy

MINE = """\
# My own policy: keep this comment.
version: 1

trusted:
  # the notes I want agents to read
  - ~/notes
  - {path: ~/build-cache, mode: rw}   # shared cache

network:
  allow:
    - pypi.org   # packages
  ask_timeout: 90
"""


@pytest.fixture
def files(isolated_env: Path, resources: Path) -> PolicyFiles:
    user = isolated_env / ".config" / "sandgate" / "policy.yaml"
    user.parent.mkdir(parents=True)
    return PolicyFiles(resources / "policy" / "default.yaml", user, isolated_env)


def test_edits_keep_the_comments_order_and_style(files: PolicyFiles) -> None:
    files.user.write_text(MINE)
    doc = files.user_document()
    assert [(e.value, e.mode, e.line) for e in doc.trusted()] == [
        ("~/notes", "ro", 6),
        ("~/build-cache", "rw", 7),
    ]
    doc.trust("~/src/lib", "rw")
    doc.trust("~/notes", "rw")  # changed where it stands
    doc.deny("~/Private/**")
    doc.add_rule("allow", "*.github.com")
    doc.add_rule("deny", "paste.example.net:443")
    doc.add_rule("allow", "10.0.0.0/8")
    doc.set_ask_timeout(30)
    text = doc.text()
    for kept in ("# My own policy: keep this comment.", "# the notes I want agents to read",
                 "# shared cache", "- pypi.org   # packages"):  # fmt: skip
        assert kept in text
    assert text.index("trusted:") < text.index("network:") < text.index("deny:")
    assert "  - {path: ~/src/lib, mode: rw}\n\nnetwork:" in text  # the blank line stays last
    assert "{path: ~/notes, mode: rw}" in text and "{path: ~/src/lib, mode: rw}" in text
    saved = save(doc, files)
    policy = load_policy(files.defaults, files.user, home=files.home)
    modes = {t.pattern: t.mode for t in policy.trusted}
    assert modes["~/notes"] == "rw" and modes["~/src/lib"] == "rw"
    assert "~/Private/**" in policy.deny
    assert {"pypi.org", "*.github.com", "10.0.0.0/8"} <= set(policy.network.allow)
    assert "paste.example.net:443" in policy.network.deny
    assert policy.network.ask_timeout == 30
    # Read back, every entry knows its line, and the loader agrees on it.
    lines = {e.value: e.line for e in saved.trusted()}
    assert policy.origins["trusted ~/src/lib"] == f"{files.user} line {lines['~/src/lib']}"
    # Taking everything out again leaves the comments and no empty sections.
    for entry in saved.trusted():
        saved.remove("trusted", entry.value)
    saved.set_ask_timeout(None)
    for rule in ("pypi.org", "*.github.com", "10.0.0.0/8"):
        assert saved.remove_rule("allow", rule)
    assert saved.remove_rule("deny", "paste.example.net:443")
    assert "network" not in saved.data and "trusted" not in saved.data
    assert "# My own policy: keep this comment." in saved.text()


def test_a_bad_file_is_never_written_and_the_error_names_its_line(files: PolicyFiles) -> None:
    files.user.write_text(MINE)
    doc = files.user_document()
    doc.trust("~", "ro")  # the whole home: the loader refuses it
    line = reread(doc).trusted()[-1].line
    with pytest.raises(PolicyError) as refused:
        save(doc, files)
    assert refused.value.file == files.user and refused.value.line == line
    assert str(refused.value).startswith(f"{files.user}:{line}: trusting '~' reaches into")
    assert files.user.read_text() == MINE
    assert not files.user.with_name("policy.yaml.bak").exists()
    doc.remove("trusted", "~")
    doc.add_rule("allow", "not a rule!")
    with pytest.raises(PolicyError, match=r"policy.yaml:\d+: network.allow"):
        save(doc, files)
    assert files.user.read_text() == MINE


def test_the_write_is_atomic_keeps_the_mode_and_a_backup(files: PolicyFiles) -> None:
    files.user.write_text(MINE)
    os.chmod(files.user, 0o640)
    before = files.user.stat().st_ino
    doc = files.user_document()
    doc.trust("~/docs", "ro")
    saved = save(doc, files)
    assert files.user.stat().st_ino != before  # a new file renamed into place
    assert files.user.stat().st_mode & 0o777 == 0o640
    assert files.user.with_name("policy.yaml.bak").read_text() == MINE
    assert files.user.read_text() == saved.text() == saved.disk_text
    assert not [p for p in files.user.parent.iterdir() if p.name.endswith(".new")]
    # A new file is private.
    files.user.unlink()
    fresh = files.user_document()
    fresh.trust("~/docs", "rw")
    save(fresh, files)
    assert files.user.stat().st_mode & 0o777 == 0o600
    assert fresh.text().startswith("# Your Sandgate policy")


def test_a_file_changed_on_disk_is_not_written_over(files: PolicyFiles) -> None:
    files.user.write_text(MINE)
    doc = files.user_document()
    doc.trust("~/docs", "ro")
    files.user.write_text(MINE + "deny: [~/Secret]\n")
    with pytest.raises(ChangedOnDisk) as changed:
        save(doc, files)
    assert changed.value.text.endswith("deny: [~/Secret]\n")
    assert "~/Secret" in files.user.read_text() and "~/docs" not in files.user.read_text()
    save(doc, files, force=True)
    assert "~/docs" in files.user.read_text()


def test_a_workspace_file_may_only_narrow(files: PolicyFiles, tmp_path: Path) -> None:
    workspace = tmp_path / "shop"
    workspace.mkdir()
    doc = files.workspace_document(workspace)
    doc.deny("~/.aws/**")
    doc.add_rule("deny", "*.pastebin.com")
    save(doc, files)
    policy = load_policy(files.defaults, workspace=workspace, home=files.home)
    assert "~/.aws/**" in policy.deny and "*.pastebin.com" in policy.network.deny
    wider = files.workspace_document(workspace)
    wider.trust("~/notes", "ro")
    with pytest.raises(PolicyError, match="not allowed in a workspace policy") as refused:
        save(wider, files)
    assert refused.value.file == workspace / ".sandgate.yaml"
    assert "~/notes" not in (workspace / ".sandgate.yaml").read_text()


def test_effective_reads_unsaved_text_and_names_the_real_file(files: PolicyFiles) -> None:
    doc = files.user_document()
    doc.trust("~/notes", "rw")
    policy = effective(files, None, doc)
    assert any(t.pattern == "~/notes" and t.mode == "rw" for t in policy.trusted)
    assert policy.origins["trusted ~/notes"].startswith(f"{files.user} line ")
    assert not files.user.exists()
