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


def expand(pattern: str, root: Path | None = None, limit: int = 10_000) -> list[Path]:
    """Existing host paths matching an absolute pattern, or one relative to `root`.

    Symlinks are listed (not followed) when they match; a `**` walk does not descend
    into symlinked folders. At most `limit` paths are returned.
    """
    absolute = pattern if root is None else os.path.join(str(root), pattern)
    if not has_magic(absolute):
        return [Path(absolute)] if os.path.lexists(absolute) else []
    base = literal_prefix(absolute) or "/"
    if not os.path.isdir(base):
        return []
    regex = compile_pattern(absolute)
    found: list[Path] = []
    depth_limited = "**" not in absolute
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
