"""Looking inside a visible request: canary tokens and credentials. Pure functions.

A canary is searched for as written, URL-encoded (the decoded text is searched), in
hex, and in base64 at each of the three alignments it can take inside a longer encoded
stream, in both the standard and the URL-safe alphabets. That catches `base64 < file`,
`curl --data-urlencode` and the like without decoding every base64-looking run.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote_to_bytes


@dataclass(frozen=True)
class RequestView:
    """The parts of a request that can carry data out: URL, headers and body."""

    url: str
    headers: Sequence[tuple[str, str]]
    body: bytes


def _b64_cores(token: bytes) -> set[bytes]:
    """The part of base64(prefix + token + suffix) that does not depend on the neighbours."""
    cores: set[bytes] = set()
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + token)
        # Only the 6-bit groups made entirely of the token's bits are fixed.
        start = (8 * shift + 5) // 6
        end = (8 * (shift + len(token))) // 6
        core = encoded[start:end]
        if len(core) >= 8:
            cores.add(core)
            cores.add(core.translate(bytes.maketrans(b"+/", b"-_")))
    return cores


def canary_patterns(canary: str) -> set[bytes]:
    """Every byte string whose presence means the canary is being carried out."""
    token = canary.encode()
    return {token, token.hex().encode(), token.hex().upper().encode()} | _b64_cores(token)


def _texts(view: RequestView) -> Iterable[bytes]:
    parts = [view.url.encode(errors="replace"), view.body]
    parts += [f"{k}: {v}".encode(errors="replace") for k, v in view.headers]
    for part in parts:
        yield part
        if b"%" in part or b"+" in part:
            yield unquote_to_bytes(part.replace(b"+", b" "))
            yield unquote_to_bytes(part)


def find_canary(view: RequestView, patterns: Mapping[str, set[bytes]]) -> str | None:
    """The first canary (key of `patterns`) that the request carries, or None."""
    texts = list(_texts(view))
    for canary, forms in patterns.items():
        for text in texts:
            if any(form in text for form in forms):
                return canary
    return None


# Headers that carry credentials by convention, and header-name words that suggest one.
# "session" is not one of them: clients name their own session ids so (Claude Code sends
# `X-Claude-Code-Session-Id` on every request), and an id is not a credential. A real
# key in any header is still found by its format, below.
_CREDENTIAL_HEADERS = {
    "authorization",
    "proxy-authorization",
    "cookie",
    "x-api-key",
    "api-key",
    "x-auth-token",
    "x-goog-api-key",
    "private-token",
}
_CREDENTIAL_WORDS = re.compile(r"(key|token|secret|auth|password|passwd|credential)", re.I)
# Well-known secret formats (vendor keys): a body or URL carrying one is a credential.
_SECRET_FORMATS = re.compile(
    rb"(sk-ant-[A-Za-z0-9_-]{16,}|sk-(proj-)?[A-Za-z0-9_-]{20,}|gh[pousr]_[A-Za-z0-9]{30,}"
    rb"|github_pat_[A-Za-z0-9_]{30,}|AKIA[0-9A-Z]{16}|ASIA[0-9A-Z]{16}|AIza[0-9A-Za-z_-]{30,}"
    rb"|xox[abposr]-[A-Za-z0-9-]{10,}|glpat-[A-Za-z0-9_-]{20,}|eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,})"
)
_JSON_CREDENTIAL = re.compile(
    rb'"([A-Za-z0-9_-]*(?:key|token|secret|password|auth)[A-Za-z0-9_-]*)"\s*:\s*"([^"]{8,})"',
    re.I,
)


# A request with no credential at all is refused, but it carries nothing foreign: the
# caller ranks it lower than a request that does.
MISSING_PREFIX = "missing: "


def foreign_credential(
    view: RequestView, header: str, placeholder: str, *, require: bool = True
) -> str | None:
    """Why the request carries a credential other than the session's placeholder, or None.

    The bound header must carry the placeholder (as its whole value or inside it, as in
    `Bearer <placeholder>`); every other place a credential can hide must be empty of
    one: credential headers, credential-named query parameters and form or JSON fields,
    and well-known key formats anywhere in the URL or body. With `require` False a
    request without the bound header passes (`header` "" and `placeholder` "" then
    check that the request carries no credential at all).
    """
    bound = header.lower()
    seen_bound = False
    for name, value in view.headers:
        lname = name.lower()
        if lname == bound:
            if placeholder not in value or _SECRET_FORMATS.search(
                value.replace(placeholder, "").encode()
            ):
                return f"header {name} does not carry this session's placeholder"
            seen_bound = True
        elif (
            lname in _CREDENTIAL_HEADERS or _CREDENTIAL_WORDS.search(lname)
        ) and value.strip() not in ("", placeholder):
            return f"header {name} carries another credential"
        elif _SECRET_FORMATS.search(value.replace(placeholder, "").encode(errors="replace")):
            return f"header {name} carries a key in a known vendor format"
    query = view.url.partition("?")[2].partition("#")[0]
    for place, pairs in (("query", query), ("body", _form_body(view.body))):
        for key, value in parse_qsl(pairs, keep_blank_values=False):
            if _CREDENTIAL_WORDS.search(key) and value and value != placeholder:
                return f"{place} parameter {key!r} carries a credential"
    for place, data in (("URL", view.url.encode(errors="replace")), ("body", view.body)):
        match = _SECRET_FORMATS.search(data.replace(placeholder.encode(), b""))
        if match:
            return f"the {place} carries a key in a known vendor format"
    for match in _JSON_CREDENTIAL.finditer(view.body):
        if match.group(2) != placeholder.encode():
            return f"body field {match.group(1).decode(errors='replace')!r} carries a credential"
    if not seen_bound and require:
        return (
            MISSING_PREFIX
            + f"header {header} is missing: requests here must carry the session's placeholder"
        )
    return None


def _form_body(body: bytes) -> str:
    if len(body) > 1 << 20 or b"=" not in body:
        return ""
    try:
        return body.decode("ascii")
    except UnicodeDecodeError:
        return ""
