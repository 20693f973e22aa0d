"""A repository's git config made inside the sandbox: kept working, its program keys held.

`git init` inside a session (or aider making its repository) writes `.git/config` and
the sample hooks. Quarantining them left the repository without a config. Instead, at
the end of the session, a git config that was created or changed keeps every key but
those that make git run a program on the host (resources/catalogues/git_config.yaml:
`core.fsmonitor`, `core.hooksPath`, `core.sshCommand`, `*.helper`, aliases starting with
`!`, filters, ...). Those are removed from the file, and the agent's whole file is held
for review like a settings change (sandbox/agent_settings.py); accepting it puts it
back. `hooks/*.sample` files are left alone: git never runs a hook under that name.

The file is read and edited by the host's `git config --file`, which never follows
`include` directives for a file named this way and runs nothing.
"""

from __future__ import annotations

import fnmatch
import os
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from sandbox.agent_settings import HeldSettings, hold_whole
from sandbox.settings_review import text_diff

GIT_ENV = {"GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": "/dev/null", "PATH": "/usr/bin:/bin"}


@dataclass(frozen=True)
class GitRules:
    keys: tuple[str, ...]  # lower-case globs
    value_starts: Mapping[str, str]  # glob -> prefix that makes the value a program


def load_git_rules(path: Path) -> GitRules:
    """The rules in git_config.yaml (ValueError naming the file if malformed)."""
    try:
        raw = yaml.load(path.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        keys = tuple(str(k).lower() for k in raw["keys"])
        starts = {str(k).lower(): str(v) for k, v in (raw.get("when_value_starts") or {}).items()}
    except (OSError, yaml.YAMLError, KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"{path}: needs a 'keys' list and a 'when_value_starts' mapping") from exc
    return GitRules(keys, starts)


def shipped_git_rules() -> GitRules:
    from resources import resources_dir

    return load_git_rules(resources_dir() / "catalogues" / "git_config.yaml")


def is_git_config(path: Path) -> bool:
    """A repository's own config: `config` beside the repository's HEAD."""
    return path.name == "config" and (path.parent / "HEAD").is_file() and not path.is_symlink()


def is_sample_hook(path: Path) -> bool:
    return path.parent.name == "hooks" and path.name.endswith(".sample") and not path.is_symlink()


def entries(config: Path) -> list[tuple[str, str]] | None:
    """(key, value) of every entry, or None if git cannot read the file."""
    done = subprocess.run(
        ["git", "config", "--file", str(config), "--list", "-z"],
        capture_output=True,
        env=GIT_ENV,
        timeout=10,
        check=False,
    )
    if done.returncode != 0:
        return None
    out = []
    for item in done.stdout.decode("utf-8", errors="replace").split("\0"):
        if item:
            key, _, value = item.partition("\n")
            out.append((key, value))
    return out


def runs_programs(key: str, value: str, rules: GitRules) -> bool:
    lowered = key.lower()
    if any(fnmatch.fnmatchcase(lowered, k) for k in rules.keys):
        return True
    return any(
        fnmatch.fnmatchcase(lowered, k) and value.lstrip().startswith(prefix)
        for k, prefix in rules.value_starts.items()
    )


@dataclass(frozen=True)
class Neutralised:
    """A config whose program keys were taken out: the keys and the agent's own text."""

    path: Path
    keys: tuple[str, ...]
    original: str


def neutralise(config: Path, rules: GitRules) -> Neutralised | None:
    """Take the program keys out of `config`; None if it had none. Raises ValueError
    when git cannot read the file (the caller then holds the whole file)."""
    found = entries(config)
    if found is None:
        raise ValueError(f"{config}: git cannot read it")
    risky = sorted({k for k, v in found if runs_programs(k, v, rules)})
    if not risky:
        return None
    original = config.read_text(errors="replace")
    for key in risky:
        subprocess.run(
            ["git", "config", "--file", str(config), "--unset-all", key],
            capture_output=True,
            env=GIT_ENV,
            timeout=10,
            check=False,
        )
    left = entries(config) or []
    if any(runs_programs(k, v, rules) for k, v in left):
        raise ValueError(f"{config}: a program key could not be removed")
    return Neutralised(config, tuple(risky), original)


def split_changes(changed: Sequence[Path], workspace: Path) -> tuple[list[Path], list[Path]]:
    """(git configs to neutralise, files still to quarantine); sample hooks dropped.
    Only a config really inside `workspace` is edited (a `.git` that is a symlink to
    some other repository on the host leaves that one's config to quarantine)."""
    root = os.path.realpath(workspace)
    configs = [
        p
        for p in changed
        if is_git_config(p) and os.path.realpath(p).startswith(root.rstrip("/") + "/")
    ]
    rest = [p for p in changed if p not in configs and not is_sample_hook(p)]
    return configs, rest


def review_git_configs(
    configs: Sequence[Path], held_dir: Path, rules: GitRules
) -> tuple[list[HeldSettings], list[Path]]:
    """Neutralise each config; (review items, configs git cannot read: quarantine them)."""
    held: list[HeldSettings] = []
    unreadable: list[Path] = []
    for config in configs:
        try:
            done = neutralise(config, rules)
        except (ValueError, OSError, subprocess.SubprocessError):
            unreadable.append(config)
            continue
        if done is None:
            continue
        hold_whole(held_dir, config, done.original)
        now = config.read_text(errors="replace")
        head = "# held for review (git would run a program): " + ", ".join(done.keys) + "\n"
        held.append(HeldSettings(config, head + text_diff(now, done.original, str(config))))
    return held, unreadable
