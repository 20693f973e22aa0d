"""An agent's own settings files: writable inside, kept after, dangerous changes held.

Agents save their state and settings in the home (Claude Code's `~/.claude.json` and
`~/.claude/settings.json`, Codex's `~/.codex/config.toml`, Gemini's
`~/.gemini/settings.json`, aider's `~/.aider.conf.yml`); the catalogue
resources/catalogues/agent_settings.yaml names them per profile, with the keys in
them that can run a program or widen access.

How they are written. Agents write them atomically (a temporary file beside it, then
a rename) and take a lock folder beside it, so the folder that holds the file must be
writable; a file bind mount is not enough (a rename onto a mount point fails).
- A file directly in the home (`~/.claude.json`): the sandbox's home becomes a
  *staging folder* on the host, in the session folder, writable, holding a copy of
  each such file. Everything else written there is discarded with the session; the
  trusted paths, scratch folders and masks are mounted over it as usual. The host
  file is not touched during the session, so nothing the agent writes there is live.
- A file in an agent folder the profile trusts read-write (`~/.claude/settings.json`):
  written in place (the folder is the host's, so the agent's other state persists;
  staging the folder instead would break the renames of its other files). The service
  watches such a file and reviews it as soon as it is written (`settle`): a dangerous
  change is live on the host only until then (a fraction of a second), and the agent
  inside sees it taken out too.

After the session (`finish`), each file is compared with its content when the session
opened (sandbox/settings_review.py): harmless changes are written onto the host file
as it is now; dangerous ones are kept off it (the host file keeps the previous values
of those keys) and stored under the `held` folder, to be shown as a review item like
a memory-file change and applied by `accept` once a person has read the diff.
"""

from __future__ import annotations

import filecmp
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from sandbox.logins import hide_tokens, hint_tokens, restore_tokens
from sandbox.patterns import expand_home
from sandbox.settings_review import Change, apply, change_from_dict, dump_json, parse, review

FORMATS = ("json", "toml", "yaml")
MAX_BYTES = 64 << 20  # a larger settings file is not reviewed (see `finish`)


class SettingsCatalogueError(ValueError):
    """The catalogue is malformed (the message names the file and the entry)."""


@dataclass(frozen=True)
class SettingsFile:
    """One settings file of an agent: where it is, its format, its dangerous keys."""

    pattern: str  # `~/...`, or relative to the workspace root (a project's own)
    format: str
    dangerous: tuple[str, ...]


def load_settings_catalogue(path: Path) -> dict[str, tuple[SettingsFile, ...]]:
    """Profile name -> its settings files, from agent_settings.yaml."""
    try:
        raw = yaml.load(path.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except (OSError, yaml.YAMLError) as exc:
        raise SettingsCatalogueError(f"{path}: cannot be read: {exc}") from exc
    agents = raw.get("agents") if isinstance(raw, dict) else None
    if not isinstance(agents, dict):
        raise SettingsCatalogueError(f"{path}: needs an 'agents' mapping")
    out: dict[str, tuple[SettingsFile, ...]] = {}
    for name, files in agents.items():
        if not isinstance(files, list):
            raise SettingsCatalogueError(f"{path}: agents.{name} must be a list of files")
        entries = []
        for i, item in enumerate(files):
            where = f"{path}: agents.{name}[{i}]"
            raw_path = str(item.get("path", "")) if isinstance(item, dict) else ""
            if not raw_path or raw_path.startswith(("/", "..")) or "*" in raw_path:
                raise SettingsCatalogueError(
                    f"{where}: needs a 'path': ~/... in the home, or relative to the workspace"
                )
            if item.get("format") not in FORMATS:
                raise SettingsCatalogueError(f"{where}: format must be one of {FORMATS}")
            dangerous = item.get("dangerous", [])
            if not isinstance(dangerous, list) or not all(isinstance(d, str) for d in dangerous):
                raise SettingsCatalogueError(f"{where}: 'dangerous' must be a list of key paths")
            entries.append(SettingsFile(item["path"], item["format"], tuple(dangerous)))
        out[str(name)] = tuple(entries)
    return out


def shipped_settings() -> dict[str, tuple[SettingsFile, ...]]:
    """The catalogue in resources/catalogues/agent_settings.yaml (empty if not there)."""
    from resources import resources_dir

    path = resources_dir() / "catalogues" / "agent_settings.yaml"
    return load_settings_catalogue(path) if path.exists() else {}


@dataclass
class Tracked:
    """One settings file of a session: the host file, its staged copy (None: written in
    place), and its text when the session opened (None: there was none)."""

    host: Path
    spec: SettingsFile
    staged: Path | None
    before: str | None = None
    oversized: bool = False  # larger than MAX_BYTES: staged as it is, never reviewed


@dataclass
class SettingsPlan:
    """The settings files of one session; `home_stage` is the staging folder shown as
    the home, or None when the home stays read-only."""

    files: tuple[Tracked, ...] = ()
    home_stage: Path | None = None
    staged_names: frozenset[str] = field(default_factory=frozenset)
    project: tuple[SettingsFile, ...] = ()  # a workspace's own, see `project_files`
    # Files a person accepted after the session was planned, with the text accepted:
    # a difference from the protected snapshot that is theirs, not the agent's.
    accepted: dict[str, str] = field(default_factory=dict)
    # A staged file shows its login tokens as placeholders (a console sign-in's key in
    # ~/.claude.json): the proxy's own for the session (`login_tokens`, its live map,
    # placeholder → real), or dead ones kept in `hidden` (sandbox.logins.hide_tokens).
    login_tokens: Mapping[str, str] = field(default_factory=dict)
    hidden: dict[str, str] = field(default_factory=dict)

    def shown(self, item: Tracked) -> str:
        """The text of `item`'s staged copy: its host text with the tokens hidden."""
        text = item.before or ""
        try:
            document = parse(text, item.spec.format)
        except ValueError:
            document = {}  # not parsed: only the tokens the proxy knows are found
            for placeholder, real in {**self.hidden, **self.login_tokens}.items():
                text = text.replace(real, placeholder)
        return hide_tokens(text, document, self.login_tokens, self.hidden)

    def revealed(self, text: str | None) -> str | None:
        """A staged copy's text with the real tokens back (those the proxy learned during
        the session too: a refreshed or new login)."""
        if text is None:
            return None
        return restore_tokens(text, {**self.hidden, **dict(self.login_tokens)})

    def stage(self, accepted: Sequence[Path] = ()) -> None:
        """Copy the host files into the staging folder and note their text (again when
        the held changes of `accepted` were applied after the session was planned)."""
        for path in accepted:
            text = read_text(path)
            if text is not None:
                self.accepted[str(path)] = text
        for item in self.files:
            item.before = read_text(item.host)
            item.oversized = item.before is None and item.host.is_file()
            if item.staged is not None:
                item.staged.unlink(missing_ok=True)
                if item.oversized:
                    shutil.copyfile(item.host, item.staged)
                elif item.before is not None:
                    item.staged.write_text(self.shown(item))
                    item.staged.chmod(0o600)


def plan_settings(
    files: Sequence[SettingsFile],
    home: Path,
    session_dir: Path,
    login_tokens: Mapping[str, str] | None = None,
) -> SettingsPlan:
    """Track `files` for one session; files directly in the home make the home a
    staging folder inside `session_dir`. `login_tokens` is the session proxy's map of
    login placeholders (placeholder → real), used for the tokens of staged files."""
    project = tuple(f for f in files if not f.pattern.startswith("~/"))
    files = [f for f in files if f.pattern.startswith("~/")]
    if not files:
        return SettingsPlan(project=project)
    stage = session_dir / "home"
    tracked: list[Tracked] = []
    for spec in files:
        host = Path(expand_home(spec.pattern, home))
        in_root = host.parent == home
        tracked.append(Tracked(host, spec, stage / host.name if in_root else None))
    staged = frozenset(str(t.host) for t in tracked if t.staged is not None)
    plan = SettingsPlan(tuple(tracked), stage if staged else None, staged, project)
    plan.login_tokens = login_tokens if login_tokens is not None else {}
    if plan.home_stage is not None:
        plan.home_stage.mkdir(mode=0o700, exist_ok=True)
    plan.stage()
    return plan


@dataclass(frozen=True)
class HeldSettings:
    """A settings change kept off the host until reviewed: the file and the diff."""

    path: Path
    diff: str


def finish(plan: SettingsPlan, held_dir: Path) -> list[HeldSettings]:
    """Apply each file's harmless changes to the host; store the dangerous ones under
    `held_dir` and return them for review."""
    out: list[HeldSettings] = []
    for item in plan.files:
        if item.oversized:
            if item.staged is not None and not filecmp.cmp(item.staged, item.host, shallow=False):
                note = f"# not reviewed: larger than {MAX_BYTES >> 20} MiB; the session's "
                out.append(HeldSettings(item.host, note + "changes to it were not kept\n"))
            continue
        held = _review_item(item, held_dir, plan)
        if held is not None:
            out.append(held)
    return out


def settle(plan: SettingsPlan, path: Path, held_dir: Path) -> list[HeldSettings]:
    """Review one file written in place as soon as the agent has written it, so that a
    dangerous change is taken back out of the host file within moments rather than at
    the end of the session. The agent inside sees the file without it too."""
    out = []
    for item in plan.files:
        if item.host == path and item.staged is None and not item.oversized:
            held = _review_item(item, held_dir, plan)
            if held is not None:
                out.append(held)
    return out


def in_place(plan: SettingsPlan) -> list[Path]:
    """The files the agent writes on the host itself (to be watched)."""
    return [t.host for t in plan.files if t.staged is None]


def _review_item(item: Tracked, held_dir: Path, plan: SettingsPlan) -> HeldSettings | None:
    if item.staged is not None:
        after = plan.revealed(read_text(item.staged))
    else:
        after = read_text(item.host)
    # In place, the host file is the agent's own text: harmless changes go onto the
    # text it had, so that the dangerous ones are taken back out of it.
    current = read_text(item.host) if item.staged is not None else item.before
    outcome = review(
        item.before, after, current, item.spec.format, item.spec.dangerous, str(item.host)
    )
    if outcome.text is not None and (item.staged is not None or outcome.text != after):
        write_atomically(item.host, outcome.text)
    elif item.staged is None and outcome.holds and after != item.before:
        # Written in place with nothing harmless to keep: put back what was there.
        if item.before is None:
            item.host.unlink(missing_ok=True)
        else:
            write_atomically(item.host, item.before)
    if not outcome.holds:
        return None
    _store(held_dir, item, outcome.held, outcome.held_text)
    documents = []
    for text in (item.before, after):
        try:
            documents.append(parse(text or "", item.spec.format))
        except ValueError:
            continue
    return HeldSettings(item.host, hint_tokens(outcome.diff, documents))


def project_files(
    plan: SettingsPlan, workspace: Path, created: Sequence[Path], held_dir: Path
) -> tuple[list[HeldSettings], list[Path]]:
    """A project's settings files (`.claude/settings.local.json`) created in the session:
    like the home's, their harmless keys stay and the dangerous ones are held. Returns
    the review items and the paths of `created` that are not such files. (One that
    existed before was read-only inside, and stays protected as it is.)"""
    specs = {str(workspace / f.pattern): f for f in plan.project}
    tracked = [Tracked(p, specs[str(p)], None) for p in created if str(p) in specs]
    rest = [p for p in created if str(p) not in specs]
    root = os.path.realpath(workspace).rstrip("/") + "/"
    # Only a regular file really inside the workspace (not through a symlinked folder).
    found = [
        t
        for t in tracked
        if t.host.is_file()
        and not t.host.is_symlink()
        and os.path.realpath(t.host).startswith(root)
    ]
    rest += [t.host for t in tracked if t not in found]
    return finish(SettingsPlan(tuple(found)), held_dir), rest


def held_record(held_dir: Path, path: Path) -> Path:
    digest = hashlib.sha256(str(path).encode()).hexdigest()[:20]
    return held_dir / f"{digest}.json"


def _store(held_dir: Path, item: Tracked, held: Sequence[Change], whole: str | None) -> None:
    held_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    record = held_record(held_dir, item.host)
    previous: dict[str, Any] = {}
    if record.exists():
        previous = json.loads(record.read_text())
    # A later session's change to the same key replaces the earlier one.
    merged = {tuple(c["key"]): c for c in previous.get("changes", [])}
    merged.update({c.key: c.to_dict() for c in held})
    data = {
        "path": str(item.host),
        "format": item.spec.format,
        "changes": list(merged.values()),
        "text": whole if whole is not None else previous.get("text"),
    }
    write_atomically(record, json.dumps(data, indent=2) + "\n")


def hold_whole(held_dir: Path, path: Path, text: str) -> None:
    """Hold `text` as the whole new content of `path` (a git config's own text)."""
    tracked = Tracked(path, SettingsFile(str(path), "text", ()), None)
    _store(held_dir, tracked, (), text)


def accept(paths: Sequence[Path], held_dir: Path) -> list[Path]:
    """Apply the held changes of `paths` (after a person accepted them); returns the
    files written. A path with nothing held is skipped."""
    done: list[Path] = []
    for path in dict.fromkeys(paths):
        record = held_record(held_dir, path)
        if not record.exists():
            continue
        data = json.loads(record.read_text())
        if data.get("text") is not None:
            text = str(data["text"])
        else:
            current = read_text(path) or ""
            try:
                document = parse(current, data["format"])
            except ValueError:
                document = {}
            text = dump_json(apply(document, [change_from_dict(c) for c in data["changes"]]))
        write_atomically(path, text)
        record.unlink()
        done.append(path)
    return done


def read_text(path: Path) -> str | None:
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_BYTES + 1)
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None
    if len(data) > MAX_BYTES:
        return None
    return data.decode("utf-8", errors="replace")


def write_atomically(path: Path, text: str) -> None:
    """Replace `path` (through a symlink, as a dotfile manager keeps it) in one rename,
    keeping its mode (0600 for a new file)."""
    target = Path(os.path.realpath(path))
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        mode = target.stat().st_mode & 0o777
    except FileNotFoundError:
        mode = 0o600
    fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.sandgate-")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        os.chmod(temporary, mode)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def settings_for(
    profile: str | None, catalogue: Mapping[str, Sequence[SettingsFile]] | None
) -> tuple[SettingsFile, ...]:
    """The settings files of `profile` (None: the shipped catalogue)."""
    if profile is None:
        return ()
    found = shipped_settings() if catalogue is None else catalogue
    return tuple(found.get(profile, ()))


__all__ = [
    "HeldSettings",
    "SettingsFile",
    "SettingsPlan",
    "accept",
    "finish",
    "load_settings_catalogue",
    "plan_settings",
    "settings_for",
]
