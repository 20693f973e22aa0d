"""The agent's own login files, shown inside with placeholders instead of tokens.

An agent keeps its OAuth login in a JSON file in its own folder
(`~/.claude/.credentials.json`, `~/.codex/auth.json`, `~/.gemini/oauth_creds.json`).
Sandgate reads the real file on the host, writes a copy into the session folder with
every token replaced by a per-session placeholder, and that copy is what the sandbox
shows at the file's place (read-write: the agent saves refreshed tokens there). The
proxy swaps each placeholder for its token on the vendor's endpoints, and swaps the
tokens of a refresh (or of a `/login` inside) for new placeholders on the way back;
when the session ends, `sync_back` writes the real tokens into the host file, so the
agent keeps its login outside Sandgate too. The real tokens never enter the sandbox.

A JWT keeps its header and claims (agents read them: Codex takes the account and plan
from its `id_token`); only the signature becomes the placeholder, so the token the agent
holds is useless anywhere else.
"""

from __future__ import annotations

import json
import os
import re
import secrets
from collections.abc import Callable, Iterable, Iterator, Mapping, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sandbox.patterns import expand_home

# JSON keys whose string values are login tokens, in the agents' files and in the token
# endpoints' answers (OAuth 2.0 names, Claude Code's camel case, Codex's API key slot).
TOKEN_KEYS = frozenset(
    {
        "access_token",
        "refresh_token",
        "id_token",
        "accessToken",
        "refreshToken",
        "idToken",
        "OPENAI_API_KEY",
        "api_key",
        "apiKey",
        # Claude Code's console sign-in: the key it is given (`raw_key`), kept in its
        # state file ~/.claude.json (`primaryApiKey`).
        "raw_key",
        "primaryApiKey",
    }
)
MIN_TOKEN = 16  # shorter strings under those keys are not tokens (empty, "null", ids)
PLACEHOLDER_MARK = "sandgate"
# Vendor prefixes kept in a placeholder, so an agent that checks a token's shape still
# recognises it (Claude Code tells OAuth tokens from API keys by theirs).
_PREFIX = re.compile(r"^(sk-ant-[a-z]+\d*-|sk-proj-|sk-|ya29\.|1//)")
_JWT = re.compile(r"^(eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.)[A-Za-z0-9_-]+$")


class LoginFileError(ValueError):
    """A login file Sandgate cannot show with placeholders (not JSON): it stays a decoy."""


def placeholder_for(token: str) -> str:
    """A fresh placeholder shaped like `token` (its prefix, or a JWT's header and claims)."""
    jwt = _JWT.match(token)
    if jwt:
        return jwt.group(1) + PLACEHOLDER_MARK + secrets.token_urlsafe(32)
    found = _PREFIX.match(token)
    prefix = found.group(1) if found else ""
    return prefix + PLACEHOLDER_MARK + secrets.token_urlsafe(24)


def is_placeholder(value: str) -> bool:
    return PLACEHOLDER_MARK in value


def tokens_in(data: Any) -> Iterator[str]:
    """Every token in parsed JSON: string values of `TOKEN_KEYS`, at any depth."""
    for _key, token in keyed_tokens(data):
        yield token


def keyed_tokens(data: Any) -> Iterator[tuple[str, str]]:
    """(kind, token) for every token in parsed JSON; the kind is its key in one spelling
    (`refreshToken` and `refresh_token` are both `refreshtoken`)."""
    if isinstance(data, dict):
        for key, value in data.items():
            if key in TOKEN_KEYS and isinstance(value, str) and len(value) >= MIN_TOKEN:
                yield key.replace("_", "").lower(), value
            else:
                yield from keyed_tokens(value)
    elif isinstance(data, list):
        for item in data:
            yield from keyed_tokens(item)


def swap_tokens(
    text: str,
    swaps: MutableMapping[str, str],
    vendor_of: MutableMapping[str, str],
    vendor: str,
    latest: MutableMapping[tuple[str, str], str] | None = None,
) -> str:
    """`text` (JSON) with each real token replaced by its placeholder, making new
    placeholders as needed (`swaps`: placeholder → real, `vendor_of`: placeholder →
    vendor, both updated). `latest`, if given, records each token's placeholder as the
    newest of its kind for `vendor` (a token endpoint's answer: see `supersede`).
    Raises LoginFileError if `text` is not JSON."""
    try:
        data = json.loads(text) if text.strip() else {}
    except ValueError as exc:
        raise LoginFileError(f"not JSON: {exc}") from None

    def made(token: str) -> str:
        placeholder = placeholder_for(token)
        swaps[placeholder] = token
        vendor_of[placeholder] = vendor
        return placeholder

    known = {real: placeholder for placeholder, real in swaps.items()}
    text, found = _replace_tokens(text, keyed_tokens(data), known, made)
    if latest is not None:
        for kind, placeholder in found:
            latest[(vendor, kind)] = placeholder
    return text


def _replace_tokens(
    text: str,
    keyed: Iterable[tuple[str, str]],
    by_real: dict[str, str],
    made: Callable[[str], str],
) -> tuple[str, list[tuple[str, str]]]:
    """`text` with each real token of `keyed` replaced by its placeholder (`by_real`, or
    `made(token)` for a new one, which joins `by_real`); also (kind, placeholder) of each."""
    found: list[tuple[str, str]] = []
    for kind, token in dict.fromkeys(keyed):
        if is_placeholder(token):
            continue
        placeholder = by_real.get(token)
        if placeholder is None:
            placeholder = by_real[token] = made(token)
        found.append((kind, placeholder))
        text = text.replace(json.dumps(token)[1:-1], placeholder)
    return text, found


def supersede(text: str, vendor: str, latest: Mapping[tuple[str, str], str]) -> str:
    """`text` (an agent's login file) with each of its placeholders replaced by the newest
    one of the same kind the vendor's token endpoint gave (`latest`). An agent that could
    not save a refresh (Codex renames its new file over the old one, which a file shown
    at its place refuses) must not lose it: a refresh token the vendor rotated is the
    only one that still works."""
    try:
        data = json.loads(text) if text.strip() else {}
    except ValueError:
        return text
    for kind, value in dict.fromkeys(keyed_tokens(data)):
        newer = latest.get((vendor, kind))
        if newer is not None and newer != value and is_placeholder(value):
            text = text.replace(value, newer)
    return text


def hide_tokens(
    text: str, document: Any, known: Mapping[str, str], hidden: MutableMapping[str, str]
) -> str:
    """`text` (a settings file shown inside, parsed as `document`) with every login token
    in it replaced by a placeholder: the proxy's own for a token it knows (`known`,
    placeholder → real), else a new one kept in `hidden` (placeholder → real). Such a
    placeholder opens nothing on the network, so a token the proxy was not given still
    never enters the sandbox; `restore_tokens` with both maps gives the text back."""

    def made(token: str) -> str:
        placeholder = placeholder_for(token)
        hidden[placeholder] = token
        return placeholder

    by_real = {real: placeholder for placeholder, real in {**hidden, **known}.items()}
    return _replace_tokens(text, keyed_tokens(document), by_real, made)[0]


def hint_tokens(text: str, documents: Iterable[Any]) -> str:
    """`text` (a review diff) with every login token of `documents` (the parsed file,
    before and after) cut to a hint: the diff is shown in the inbox and kept in history,
    and a key must reach neither (the held change itself, applied on `accept`, keeps it,
    under the service's state)."""
    for document in documents:
        for _kind, token in keyed_tokens(document):
            text = text.replace(token, _hint(token))
    return text


def _hint(token: str) -> str:
    """Enough of a token to tell it from another, never enough to use: a prefix of at
    most 12 characters (a quarter of a short one), and the last 4 of a long one."""
    head = token[: min(12, len(token) // 4)]
    tail = token[-4:] if len(token) >= 40 else ""
    return f"{head}…{tail} (hidden)"


def restore_tokens(text: str, swaps: Mapping[str, str]) -> str:
    """The inverse: every placeholder in `text` replaced by its real token."""
    for placeholder, real in swaps.items():
        if placeholder in text:
            text = text.replace(placeholder, json.dumps(real)[1:-1])
    return text


@dataclass(frozen=True)
class LoginView:
    """One login file: `host_file` is the real one; `view_file` (in the session folder,
    None when the file did not exist) is shown read-write at `host_file`'s place.
    `original` is the host file's text when the session began."""

    vendor: str
    host_file: Path
    view_file: Path | None
    original: str | None


def open_views(
    logins: Iterable[tuple[str, Iterable[str]]],
    home: Path,
    session_dir: Path,
    swaps: MutableMapping[str, str],
    vendor_of: MutableMapping[str, str],
) -> list[LoginView]:
    """Write the placeholder copy of each (vendor, file patterns) login file that exists.

    A missing file gets a view without a copy: if the agent logs in during the session,
    it writes the file itself (with the placeholders the proxy gave it), and `sync_back`
    puts the real tokens in. A file that is not JSON is left out (it stays a decoy).
    """
    folder = session_dir / "logins"
    views: list[LoginView] = []
    for vendor, patterns in logins:
        for pattern in patterns:
            host_file = Path(expand_home(pattern, home))
            if host_file.is_symlink() or (host_file.exists() and not host_file.is_file()):
                continue
            if not host_file.exists():
                views.append(LoginView(vendor, host_file, None, None))
                continue
            try:
                original = host_file.read_text(encoding="utf-8")
                shown = swap_tokens(original, swaps, vendor_of, vendor)
            except (OSError, UnicodeDecodeError, LoginFileError):
                continue
            folder.mkdir(mode=0o700, exist_ok=True)
            view_file = folder / f"{len(views)}-{host_file.name}"
            _write_private(view_file, shown)
            views.append(LoginView(vendor, host_file, view_file, original))
    return views


def sync_back(
    views: Iterable[LoginView],
    swaps: Mapping[str, str],
    latest: Mapping[tuple[str, str], str] | None = None,
) -> list[Path]:
    """Write what the agent saved into the real login files, with the real tokens (the
    newest the vendor gave, `latest`, where the agent did not save them); return the
    files written. Nothing is written where nothing changed, nor where the result would
    still hold a placeholder Sandgate cannot resolve (it would break the login)."""
    written: list[Path] = []
    for view in views:
        source = view.view_file or view.host_file
        try:
            text = source.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        if latest and view.view_file is not None:
            text = supersede(text, view.vendor, latest)
        real = restore_tokens(text, swaps)
        if real == view.original or not real.strip() or is_placeholder(real):
            continue
        if view.view_file is None and real == text:
            continue  # created inside without a token of ours: the agent's own doing
        _write_private(view.host_file, real)
        written.append(view.host_file)
    return written


def _write_private(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.sandgate-tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    tmp.replace(path)
