"""Paths and patterns written in the Seatbelt profile language (SBPL).

Every path reaches the profile as a string literal with `"` and `\\` escaped, so a
quote in a folder name cannot end the string and inject a rule. A path with a control
character is refused: SBPL's string escapes for them are not documented, and a guess
that the profile reads differently would fail open.

A policy pattern with `*`, `?`, `**` or `[...]` becomes an anchored regex in which every
other character is escaped. A path that holds `[` or `]` without meaning a pattern (a
folder really named `proj [old]`) stays a literal: as a regex it would be a character
class and match nothing, which for a deny rule means a hole.
"""

from __future__ import annotations

import os
from pathlib import Path

from sandbox.patterns import has_magic, literal_prefix

# Characters a POSIX extended regex gives a meaning to; each is escaped with `\`.
_REGEX_SPECIAL = frozenset(".[]()*+?{}|^$\\")


class ProfileError(ValueError):
    """A path that cannot be written into a Seatbelt profile safely."""


def quote(text: str) -> str:
    """`text` as an SBPL string literal."""
    for char in text:
        if ord(char) < 0x20 or ord(char) == 0x7F:
            raise ProfileError(
                f"the path {text!r} holds a control character, which a Seatbelt profile "
                "cannot name safely"
            )
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def literal(path: str) -> str:
    """A filter matching exactly `path`."""
    return f"(literal {quote(path)})"


def subpath(path: str) -> str:
    """A filter matching `path` and everything below it."""
    return f"(subpath {quote(path.rstrip('/') or '/')})"


def regex(expression: str) -> str:
    """A filter matching paths by a (POSIX extended) regular expression."""
    return f"(regex {quote(expression)})"


def escape_regex(text: str) -> str:
    """`text` matched literally inside a regex."""
    return "".join("\\" + c if c in _REGEX_SPECIAL else c for c in text)


def glob_regex(pattern: str, *, folder_too: bool = False) -> str:
    """An anchored regex for a policy pattern (absolute, or relative to be appended
    to an escaped folder).

    `*` and `?` stay within one folder, a `**` component crosses any number of them
    (none included). `folder_too` lets a trailing `/**` match the folder itself as
    well (a deny of `~/.ssh/**` must also refuse listing `~/.ssh`).
    """
    parts = pattern.split("/")
    out: list[str] = []
    for index, part in enumerate(parts):
        last = index == len(parts) - 1
        if part == "**":
            if last:
                out.append("(/.*)?" if folder_too else "/.*")
            else:
                out.append("(/.*)?/" if index > 0 else "(.*/)?")
            continue
        if index > 0 and parts[index - 1] != "**":
            out.append("/")
        out.append(_component(part))
    return "^" + "".join(out) + "$"


def _component(part: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(part):
        char = part[i]
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[":
            end = part.find("]", i + 2 if part[i + 1 : i + 2] in ("!", "]") else i + 1)
            if end == -1:
                out.append("\\[")  # an unclosed bracket is an ordinary character
            else:
                body = part[i + 1 : end]
                negate = body.startswith("!")
                if negate:
                    body = body[1:]
                # Inside a class only `\`, `^` and `[` need care; `/` never matches.
                body = body.replace("\\", "\\\\").replace("[", "\\[")
                if body.startswith("^"):
                    body = "\\" + body
                out.append("[" + ("^/" if negate else "") + body + "]")
                i = end
        else:
            out.append(escape_regex(char))
        i += 1
    return "".join(out)


def split(root: str, pattern: str) -> tuple[str, str]:
    """A pattern under the literal folder `root` ("" for an absolute pattern) as
    (resolved folder, wildcard remainder). Seatbelt matches resolved paths (`/tmp` is
    `/private/tmp` on macOS), so the part that names real folders is resolved; `root`
    is never read as a pattern, brackets in it included."""
    fixed = literal_prefix(pattern) if has_magic(pattern) else pattern
    base = os.path.join(root, fixed) if root else fixed
    rest = pattern[len(fixed) :].lstrip("/")
    return os.path.realpath(base or "/"), rest


def resolve(pattern: str, home: str) -> tuple[str, str] | None:
    """`split` for a policy pattern: `~` is the home, `/...` absolute; None for a
    relative pattern (the caller knows which folders it applies under)."""
    if pattern == "~" or pattern.startswith("~/"):
        return split(home, pattern[2:])
    if pattern.startswith("/"):
        return split("", pattern)
    return None


def filters(base: str, rest: str, *, deny: bool) -> list[str]:
    """The filters for the pattern `rest` under the resolved folder `base`.

    For a deny rule a remainder that holds `[` gets both readings, the regex and the
    literal path, since refusing too much is safe and refusing too little is not. For
    an allow rule the literal reading is used when such a path exists, else the regex.
    """
    if rest in ("", "**"):
        return [subpath(base)]
    joined = os.path.join(base, rest)
    if not has_magic(rest):
        return [subpath(joined)]
    expression = "^" + escape_regex(base.rstrip("/")) + "/" + glob_regex(rest, folder_too=deny)[1:]
    found = regex(expression)
    if "[" not in rest:
        return [found]
    if deny:
        return [found, subpath(joined)]
    return [subpath(joined)] if os.path.lexists(joined) else [found]


def ancestors(path: str, stop: str) -> list[str]:
    """The folders from `stop` (included) down to `path`'s parent."""
    out: list[str] = []
    current = Path(path).parent
    root = Path(stop)
    while current == root or root in current.parents:
        out.append(str(current))
        if current == root:
            break
        current = current.parent
    return out
