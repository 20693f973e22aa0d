"""sandbox/explain.py against the real sandbox: what it says, a real bwrap does."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sandbox.explain import Explainer

if TYPE_CHECKING:
    from tests.sandbox.conftest import Box


def _explainer(box: Box) -> Explainer:
    return Explainer.plan(box.policy(), box.workspace, box.home, box.env(), catalogue=box.catalogue)


def _world(box: Box) -> None:
    (box.home / "Documents").mkdir()
    (box.home / "Documents" / "diary.txt").write_text("private")
    (box.home / "notes").mkdir()
    (box.home / "notes" / "todo.txt").write_text("shown")
    (box.home / ".aws").mkdir()
    (box.home / ".aws" / "credentials").write_text("[default]\naws_secret_access_key = REAL\n")
    (box.home / ".ssh").mkdir()
    (box.home / ".ssh" / "id_ed25519").write_text("REAL KEY")
    (box.workspace / ".git" / "hooks").mkdir(parents=True)
    (box.workspace / ".git" / "hooks" / "pre-commit").write_text("#!/bin/sh\n")
    box.policy_yaml = (
        "# mine\n"
        "trusted:\n"
        "  - ~/notes\n"
        "  - {path: ~/.aws, mode: rw}\n"
        "  - {path: ~/.ssh, mode: rw}\n"
    )


def test_each_state_names_its_reason(box: Box) -> None:
    _world(box)
    explainer = _explainer(box)
    user = box.state / "policy.yaml"

    notes = explainer.explain(box.home / "notes" / "todo.txt")
    assert notes.state == "read-only"
    assert f"trusted — ~/notes ({user} line 3)" in notes.why

    diary = explainer.explain(box.home / "Documents" / "diary.txt")
    assert (diary.state, diary.why) == ("hidden", "the home is empty inside: nothing trusts it")

    aws = explainer.explain(box.home / ".aws" / "credentials")
    assert aws.state == "decoy" and "credential catalogue: AWS credentials" in aws.why
    assert explainer.explain(box.home / ".aws").state == "read-write"

    # Trusted read-write, yet denied by the shipped policy: deny wins, and says where;
    # the key itself is a decoy over the emptied folder.
    ssh = explainer.explain(box.home / ".ssh" / "known_hosts")
    assert ssh.state == "hidden"
    assert ssh.why.startswith("denied — ~/.ssh/** (") and "default.yaml line" in ssh.why
    assert explainer.explain(box.home / ".ssh" / "id_ed25519").state == "decoy"

    hook = explainer.explain(box.workspace / ".git" / "hooks" / "pre-commit")
    assert hook.state == "read-only" and hook.why.startswith("protected file — .git/hooks/**")
    assert explainer.explain(box.workspace / "src").state == "read-write"
    assert explainer.explain("/usr/bin/env").why == "a system folder (inside /usr)"


def test_what_it_calls_hidden_is_unreadable_inside_and_the_rest_agrees(box: Box) -> None:
    _world(box)
    explainer = _explainer(box)
    (box.home / ".ssh" / "known_hosts").write_text("github.com ssh-ed25519 AAAA")
    paths = {
        "diary": box.home / "Documents" / "diary.txt",
        "known_hosts": box.home / ".ssh" / "known_hosts",
        "ssh": box.home / ".ssh" / "id_ed25519",
        "notes": box.home / "notes" / "todo.txt",
        "aws": box.home / ".aws" / "credentials",
        "hook": box.workspace / ".git" / "hooks" / "pre-commit",
        "main": box.workspace / "main.py",
    }
    paths["main"].write_text("print(1)")
    states = {name: explainer.explain(path).state for name, path in paths.items()}
    assert states == {
        "diary": "hidden",
        "known_hosts": "hidden",
        "ssh": "decoy",
        "notes": "read-only",
        "aws": "decoy",
        "hook": "read-only",
        "main": "read-write",
    }
    script = "".join(
        f"echo '== {name}'; cat {path} 2>/dev/null; echo; echo WROTE >> {path} 2>/dev/null; "
        for name, path in paths.items()
    )
    before = {name: path.read_text() for name, path in paths.items()}
    result = box.run(script)
    seen = {
        part.split("\n", 1)[0]: part.split("\n", 1)[1] for part in result.stdout.split("== ")[1:]
    }
    for name, state in states.items():
        real = before[name]
        inside = seen[name].strip()
        if state == "hidden":
            assert inside == "", (name, inside)
        elif state == "decoy":
            assert inside and real.strip() not in inside, (name, inside)
        else:
            assert inside == real.strip(), (name, inside)
        # Only a read-write path lets a write reach the host file.
        reached = paths[name].read_text() != real
        assert reached == (state == "read-write"), (name, state)
