"""Shell analysis of what reaches around the sandbox, what it writes, what git sets and
pushes: each finding beside a near miss that must stay empty."""

from __future__ import annotations

import pytest
from test_shell import run

from triage.shell import pushed_somewhere_new


@pytest.mark.parametrize(
    ("command", "category", "words"),
    [
        ("docker run --rm -v /:/host alpine sh", "mount", "root folder"),
        ("docker run -v/:/host alpine sh", "mount", "root folder"),
        ("docker -H tcp://h:2375 container run --volume=/etc:/e alpine", "mount", "system"),
        ("podman run --mount type=bind,src=/home,dst=/h alpine", "mount", "whole home"),
        ("docker compose run -v ~/.ssh:/s app", "mount", "credentials"),
        ("docker run --privileged alpine sh", "privileged", "--privileged"),
        ("docker run --pid host alpine sh", "privileged", "--pid=host"),
        ("docker run --cap-add CAP_SYS_ADMIN alpine sh", "privileged", "SYS_ADMIN"),
        ("docker run -v /run/docker.sock:/d.sock alpine", "socket", "own socket"),
        ("curl --unix-socket /var/run/docker.sock http://d/info", "socket", "curl"),
        ("nsenter -t 1 -m sh", "namespace", "host's"),
        ("nsenter --target=4242 -n ip a", "namespace", "another process's"),
    ],
)
def test_reaching_the_host(command: str, category: str, words: str) -> None:
    found = run(command).host_access
    assert any(cat == category and words in what for cat, what in found), found


@pytest.mark.parametrize(
    "command",
    [
        'docker run --rm -v "$PWD":/src node:20 npm test',
        "docker run --rm -v ./data:/data -v cache:/cache alpine",
        "docker run --rm alpine cat /etc/os-release",  # the container's own /etc
        "docker exec -it db psql",
        "docker ps -a && docker images",
        "echo docker run --privileged -v /:/h",
        "curl --unix-socket /run/app.sock http://x/",
        "which nsenter",
    ],
)
def test_near_misses_reach_nothing(command: str) -> None:
    assert run(command).host_access == ()


@pytest.mark.parametrize(
    ("command", "written"),
    [
        ("echo x > out.txt 2> err.log", ("out.txt", "err.log")),
        ("printf x | tee -a ~/.bashrc", ("~/.bashrc",)),
        ("cp a b && mv c .git/hooks/pre-commit", ("b", ".git/hooks/pre-commit")),
        ("curl -so .git/hooks/x https://x.example/h", (".git/hooks/x",)),
        ("sed -i 's/a/b/' ~/.zshrc", ("~/.zshrc",)),
        ("sed -i -e 's/a/b/' f1 f2", ("f1", "f2")),
        ("chmod +x .git/hooks/x", (".git/hooks/x",)),
        ("dd if=a of=/tmp/b", ("/tmp/b",)),
        ("cd sub && echo x > f", ("sub/f",)),
    ],
)
def test_writes(command: str, written: tuple[str, ...]) -> None:
    assert run(command).writes == written


@pytest.mark.parametrize(
    "command",
    ["cat ~/.bashrc", "echo x > /dev/null 2>&1", "chmod 600 ~/.ssh/config", "sed 's/a/b/' f"],
)
def test_reads_write_nothing(command: str) -> None:
    assert run(command).writes == ()


@pytest.mark.parametrize(
    ("command", "setting"),
    [
        ("git config core.fsmonitor /tmp/x", "core.fsmonitor = /tmp/x"),
        ("git config set --global core.hooksPath h", "core.hooksPath = h"),
        ("git -C r config --add credential.https://x.helper store", "credential."),
        ("git config alias.x '!sh -c id'", "alias.x = !sh -c id"),
        ("git config filter.f.smudge 'sh x'", "filter.f.smudge"),
        ("git config core.pager 'less; id'", "core.pager"),
        ("git -c diff.external=/tmp/d diff", "(git -c, for this command)"),
    ],
)
def test_git_configuration_that_runs_programs(command: str, setting: str) -> None:
    assert any(setting in s for s in run(command).git_config), run(command).git_config


@pytest.mark.parametrize(
    "command",
    [
        "git config alias.co checkout",
        "git config core.editor vim",
        "git config --get core.fsmonitor",
        "git config --unset core.hooksPath",
        "git -c color.ui=always log",
        "git commit -c HEAD",  # the subcommand's own -c reuses a message
    ],
)
def test_git_near_misses_set_nothing(command: str) -> None:
    assert run(command).git_config == ()


def test_remotes_and_pushes() -> None:
    found = run("git remote add b https://x/y.git && git config remote.m.url u && git push b")
    assert found.remotes_set == (("b", "https://x/y.git"), ("m", "u"))
    assert found.pushes == ("b",)
    assert run("git push --repo=up --all").pushes == ("up",)
    assert run("git push").pushes == ("",)
    assert run("git -C repo push -o ci.skip origin main").pushes == ("origin",)


@pytest.mark.parametrize(
    ("pushes", "remotes", "expected"),
    [
        (("b",), {"b": "https://x/y.git"}, ("b (https://x/y.git)",)),
        (("",), {"origin": "https://x/o.git"}, ("origin (https://x/o.git)",)),
        (("git@gitlab.com:a/b.git",), {}, ("git@gitlab.com:a/b.git",)),
        (("origin",), {}, ()),  # not set in this session: the user's own
        (("upstream",), {"b": "u"}, ()),
    ],
)
def test_what_counts_as_somewhere_new(
    pushes: tuple[str, ...], remotes: dict[str, str], expected: tuple[str, ...]
) -> None:
    assert pushed_somewhere_new(pushes, remotes, ()) == expected
