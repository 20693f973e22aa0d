"""``git``: its subcommand, the configuration it plants, the remotes it sets and pushes to.

Two things about git matter beyond the data it carries (``commands._git``):

- configuration that runs programs. ``core.fsmonitor``, ``core.sshCommand``,
  ``core.hooksPath``, credential helpers, ``!`` aliases, filters, diff and merge drivers
  all name a program git runs later, and the user runs git outside any sandbox. Only a
  setting that persists counts (``git config KEY VALUE``), not ``git -c`` for one run;
- remotes. A remote added or changed in a session and then pushed to sends the
  workspace wherever the agent was told, through a git host the policy may well allow:
  the allowed-domain lesson, for git.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from triage.shell.walker import _Walker

# git's own options before the subcommand, and those of them that take a value.
_GLOBAL_VALUE = frozenset(
    "-C -c --git-dir --work-tree --namespace --exec-path --config-env --super-prefix".split()  # noqa: SIM905
)
# Keys (lower-case; `*` one subsection) whose value git runs as a program, or that
# load more configuration from a file, or let a URL run a command.
_RUNS_PROGRAM = re.compile(
    r"^(?:core\.(?:sshcommand|fsmonitor|hookspath|askpass|gitproxy)"
    r"|diff\.external|diff\..+\.(?:textconv|command)|merge\..+\.driver"
    r"|filter\..+\.(?:clean|smudge|process)|credential\.(?:.+\.)?helper"
    r"|gpg\.(?:.+\.)?program|uploadpack\.packobjectshook|remote\..+\.(?:uploadpack|receivepack)"
    r"|include\.path|includeif\..+\.path|protocol\.(?:ext|fd)\.allow"
    r"|sendemail\.(?:smtpserver|tocmd|cccmd))$"
)
# Keys that name a program the user chose (an editor, a pager): only a value that is a
# shell command line rather than a program name counts.
_PICKS_PROGRAM = re.compile(r"^(?:core\.(?:editor|pager)|sequence\.editor|pager\..+)$")
_SHELL_LINE = re.compile(r"[;|&`$<>]|\b(?:sh|bash|zsh|curl|wget|python3?|node|perl)\b")
_CONFIG_VALUE = frozenset(["--file", "-f", "--blob", "--type", "--default", "--comment"])
_CONFIG_READS = frozenset(
    (  # noqa: SIM905
        "--get --get-all --get-regexp --get-urlmatch --list -l --unset --unset-all"
        " --remove-section --rename-section --edit -e --show-origin --show-scope --name-only"
        " get list unset remove-section rename-section edit"
    ).split()
)
_PUSH_VALUE = frozenset(["-o", "--push-option", "--receive-pack", "--exec", "--signed"])
_REMOTE_URL_KEY = re.compile(r"^remote\.(.+)\.(?:url|pushurl)$", re.IGNORECASE)


def _git_words(words: Sequence[str]) -> tuple[str, list[str], list[str]]:
    """The subcommand after git's own options (``git -C dir -c k=v push``), its words,
    and those options."""
    index = 0
    while index < len(words):
        word = words[index]
        if word in _GLOBAL_VALUE:
            index += 2
        elif word.startswith("-"):
            index += 1
        else:
            return word, list(words[index + 1 :]), list(words[:index])
    return "", [], list(words)


def _git_effects(walker: _Walker, sub: str, words: list[str], options: Sequence[str]) -> None:
    """Record configuration that runs programs, remotes set, and pushes (`options`:
    git's own, before the subcommand)."""
    found = walker.found
    if "-c" in options:
        _one_shot(walker, options)
    if sub == "config":
        _config(walker, words)
    elif sub == "remote":
        operands = _operands(words, frozenset(["-t", "-m", "--mirror"]))
        if len(operands) >= 3 and operands[0] in ("add", "set-url"):
            found.remotes.append((operands[1], operands[2]))
    elif sub == "push":
        target = _push_target(words)
        if target not in found.pushes:
            found.pushes.append(target)


def _operands(words: Sequence[str], takes_value: frozenset[str]) -> list[str]:
    out: list[str] = []
    skip = False
    for word in words:
        if skip:
            skip = False
        elif word in takes_value:
            skip = True
        elif not word.startswith("-"):
            out.append(word)
    return out


def _config(walker: _Walker, words: list[str]) -> None:
    if any(w in _CONFIG_READS for w in words):
        return  # a read, a removal or an edit in $EDITOR: nothing is set here
    operands = _operands(words, _CONFIG_VALUE)
    if operands and operands[0] in ("set", "add"):
        operands = operands[1:]
    if len(operands) < 2:
        return
    key, value = operands[0], operands[1]
    remote = _REMOTE_URL_KEY.match(key)
    if remote:
        walker.found.remotes.append((remote.group(1), value))
    if _runs_program(key, value):
        setting = f"{key} = {_shown(value)}"
        if setting not in walker.found.git_config:
            walker.found.git_config.append(setting)


def _runs_program(key: str, value: str) -> bool:
    """Does git run `value` as a program, for the setting `key`?"""
    lowered = key.lower()
    if _RUNS_PROGRAM.match(lowered):
        return True
    if lowered.startswith("alias.") or re.match(r"^submodule\..+\.update$", lowered):
        return value.lstrip().startswith("!")
    return bool(_PICKS_PROGRAM.match(lowered) and _SHELL_LINE.search(value))


def _shown(value: str) -> str:
    # Without quotes: parsers disagree on quotes nested in quotes, and a person reads the
    # program either way.
    return value.replace('"', "").replace("'", "")


def _one_shot(walker: _Walker, words: Sequence[str]) -> None:
    """``git -c KEY=VALUE …``: a program git runs for this command (outside any sandbox,
    when the command is one that asks to run there)."""
    for index, word in enumerate(words[:-1]):  # git's own options only
        if word == "-c":
            key, _, value = words[index + 1].partition("=")
            if _runs_program(key, value):
                setting = f"{key} = {_shown(value)} (git -c, for this command)"
                if setting not in walker.found.git_config:
                    walker.found.git_config.append(setting)


def _gh_push(walker: _Walker, words: Sequence[str]) -> None:
    """``gh repo create NAME --source=. --push``: the workspace pushed to a new repository."""
    operands = [w for w in words if not w.startswith("-")]
    if operands[:2] == ["repo", "create"] and "--push" in words:
        name = operands[2] if len(operands) > 2 else "a new repository"
        walker.found.pushes.append(f"https://github.com/{name}")


def _push_target(words: Sequence[str]) -> str:
    """Where ``git push`` sends: its first operand (a remote name or a URL), the value of
    ``--repo``, or "" for the current branch's upstream (usually origin)."""
    for word in words:
        if word.startswith("--repo="):
            return word.partition("=")[2]
    operands = _operands(words, _PUSH_VALUE | {"--repo"})
    if "--repo" in words:
        at = words.index("--repo")
        if at + 1 < len(words):
            return words[at + 1]
    return operands[0] if operands else ""


_URL_LIKE = re.compile(r"^(?:[a-zA-Z][a-zA-Z0-9+.-]*://|[^/\s:@]+@[^/\s:]+:|\.{0,2}/|~)|\.git/?$")


def pushed_somewhere_new(
    pushes: Sequence[str], remotes: dict[str, str], remotes_set: Sequence[tuple[str, str]]
) -> tuple[str, ...]:
    """The pushes that go somewhere set in this session: to a remote added or changed
    earlier in the session (`remotes`) or in this command (`remotes_set`), or straight to
    a URL. "" (the upstream) is taken as origin. Each as `name (URL)` or the URL."""
    known = {**remotes, **dict(remotes_set)}
    out: list[str] = []
    for target in pushes:
        name = target or "origin"
        if name in known:
            out.append(f"{name} ({known[name]})")
        elif _URL_LIKE.search(target):
            out.append(target)
    return tuple(out)
