"""Path patterns as the policy writes them: `~` for the home, `*`, `?`, `[...]` and `**`.

`*` never crosses a `/`; `**` as a whole component crosses any number of folders
(including none). Hidden names are matched like any other: `~/.aws/*` sees dot files.
Expansion lists only what exists on the host, without following symlinked folders
during a `**` walk, so a link cannot drag a pattern out of its tree.
"""

from __future__ import annotations

import functools
import os
import re
from pathlib import Path

_MAGIC = re.compile(r"[*?\[]")


def expand_home(pattern: str, home: Path) -> str:
    """The pattern with a leading `~` replaced by the home folder."""
    if pattern == "~":
        return str(home)
    if pattern.startswith("~/"):
        return str(home) + pattern[1:]
    return pattern


def has_magic(pattern: str) -> bool:
    return _MAGIC.search(pattern) is not None


@functools.lru_cache(maxsize=512)
def compile_pattern(pattern: str) -> re.Pattern[str]:
    """A regex matching whole paths (absolute or relative, as the pattern is)."""
    out: list[str] = []
    parts = pattern.split("/")
    for index, part in enumerate(parts):
        last = index == len(parts) - 1
        if part == "**":
            # Any number of whole components, including none.
            out.append(".*" if last else "(?:[^/]*/)*")
            continue
        out.append(_component(part))
        if not last:
            out.append("/")
    return re.compile("".join(out) + r"\Z", re.DOTALL)


def _component(part: str) -> str:
    regex: list[str] = []
    i = 0
    while i < len(part):
        char = part[i]
        if char == "*":
            regex.append("[^/]*")
        elif char == "?":
            regex.append("[^/]")
        elif char == "[":
            end = part.find("]", i + 2 if part[i + 1 : i + 2] in ("!", "]") else i + 1)
            if end == -1:
                regex.append(re.escape(char))
            else:
                body = part[i + 1 : end]
                if body.startswith("!"):
                    body = "^" + body[1:]
                regex.append("[" + body.replace("\\", "\\\\") + "]")
                i = end
        else:
            regex.append(re.escape(char))
        i += 1
    return "".join(regex)


def matches(pattern: str, path: str) -> bool:
    """Whether `path` (written the same way as the pattern) matches it."""
    return compile_pattern(pattern).match(path) is not None


def literal_prefix(pattern: str) -> str:
    """The leading components of a pattern that hold no wildcard."""
    fixed: list[str] = []
    for part in pattern.split("/"):
        if has_magic(part):
            break
        fixed.append(part)
    return "/".join(fixed)


def split_root(pattern: str, workspace: Path | None, home: Path | None) -> tuple[str, str] | None:
    """A policy pattern as (literal root folder, pattern below it): `~/x` is under the
    home, a relative one under the workspace, an absolute one under no root (""). None
    when the root it needs is not given. The root is a path, never a pattern: a
    workspace named `proj [v2]` must not turn its own name into a character class."""
    if pattern == "~" or pattern.startswith("~/"):
        return None if home is None else (str(home), pattern[2:])
    if pattern.startswith("/"):
        return "", pattern
    return None if workspace is None else (str(workspace), pattern)


def compile_rooted(root: str, pattern: str) -> re.Pattern[str]:
    """A regex for whole absolute paths: `root` taken literally, `pattern` below it."""
    if not root:
        return compile_pattern(pattern)
    return re.compile(re.escape(root.rstrip("/") + "/") + compile_pattern(pattern).pattern)


def expand(pattern: str, root: Path | str | None = None, limit: int = 10_000) -> list[Path]:
    """Existing host paths matching an absolute pattern, or a pattern below `root`
    (taken literally, whatever characters its name holds).

    Symlinks are listed (not followed) when they match; a `**` walk does not descend
    into symlinked folders. At most `limit` paths are returned.
    """
    prefix = "" if root is None or not str(root) else str(root).rstrip("/") + "/"
    absolute = prefix + pattern if prefix else pattern
    if not has_magic(pattern):
        return [Path(absolute)] if os.path.lexists(absolute) else []
    base = (prefix + literal_prefix(pattern)).rstrip("/") if prefix else literal_prefix(pattern)
    base = base or "/"
    if not os.path.isdir(base):
        return []
    regex = compile_rooted(prefix, pattern) if prefix else compile_pattern(pattern)
    found: list[Path] = []
    depth_limited = "**" not in pattern
    max_depth = absolute.count("/") - base.count("/")
    for current, dirs, files in os.walk(base):
        depth = current.count("/") - base.count("/")
        for name in (*dirs, *files):
            candidate = os.path.join(current, name)
            if regex.match(candidate):
                found.append(Path(candidate))
                if len(found) >= limit:
                    return found
        if depth_limited and depth + 1 >= max_depth:
            dirs[:] = []
        else:
            dirs[:] = [d for d in dirs if not os.path.islink(os.path.join(current, d))]
    return found
