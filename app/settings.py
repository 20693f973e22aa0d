"""A person's settings: `config.yaml` in Sandgate's config folder, the environment over it.

    # ~/.config/sandgate/config.yaml
    database_url: postgresql://sandgate@db.example/audit   # a team's one audit trail
    retention_days: 30                                      # history kept (default 90)

`SANDGATE_DATABASE_URL` in the environment wins over `database_url:`. With neither, the
history is the SQLite file in the data folder. Read in `main()` (or by the service as it
starts) and passed down; nothing reads it at import time. A mistake in the file is one
sentence naming the file, the line and the problem.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.paths import Paths

FILE = "config.yaml"
DATABASE_VARIABLE = "SANDGATE_DATABASE_URL"
RETENTION_DAYS = 90.0
KNOWN = ("database_url", "retention_days")


class SettingsError(ValueError):
    """config.yaml (or the environment) says something Sandgate cannot use."""


@dataclass(frozen=True)
class Settings:
    database_url: str | None = None  # a postgresql:// URL; None: the SQLite file
    retention_days: float = RETENTION_DAYS

    def database(self, paths: Paths) -> Path | str:
        """Where the store is: the server's URL, or the file in `paths`' data folder."""
        return self.database_url or paths.database


def settings_file(paths: Paths) -> Path:
    return paths.config / FILE


def load_settings(paths: Paths, environ: Mapping[str, str] | None = None) -> Settings:
    """The settings in force for `paths` (raises SettingsError naming file and line)."""
    from app.service.backends import is_server_url

    environ = os.environ if environ is None else environ
    path = settings_file(paths)
    found = _read(path)
    url: str | None = None
    days = RETENTION_DAYS
    if "database_url" in found:
        value, line = found["database_url"]
        if not isinstance(value, str) or not is_server_url(value):
            raise SettingsError(
                f"{path} line {line}: database_url must be a postgresql:// URL "
                "(leave it out to keep the history in the SQLite file)"
            )
        url = value
    if "retention_days" in found:
        value, line = found["retention_days"]
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise SettingsError(
                f"{path} line {line}: retention_days must be a number of days above 0"
            )
        days = float(value)
    variable = environ.get(DATABASE_VARIABLE, "").strip()
    if variable:
        if not is_server_url(variable):
            raise SettingsError(f"{DATABASE_VARIABLE} must be a postgresql:// URL")
        url = variable
    return Settings(database_url=url, retention_days=days)


def _read(path: Path) -> dict[str, tuple[Any, int]]:
    """Each setting of the file with the line it is on; {} when there is no file."""
    import yaml

    try:
        source = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        raise SettingsError(f"{path} cannot be read ({exc})") from None
    try:
        root = yaml.compose(source, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "it is not YAML"
        raise SettingsError(f"{path}{where}: {problem}") from None
    if root is None:
        return {}
    if not isinstance(root, yaml.MappingNode):
        raise SettingsError(f"{path} line {root.start_mark.line + 1}: expected `name: value` lines")
    out: dict[str, tuple[Any, int]] = {}
    for key, value in root.value:
        line = key.start_mark.line + 1
        name = key.value if isinstance(key, yaml.ScalarNode) else None
        if name not in KNOWN:
            raise SettingsError(
                f"{path} line {line}: unknown setting {name!r} (known: {', '.join(KNOWN)})"
            )
        if not isinstance(value, yaml.ScalarNode):
            raise SettingsError(f"{path} line {line}: {name} takes one value")
        out[name] = (yaml.SafeLoader("").construct_object(value), line)
    return out
