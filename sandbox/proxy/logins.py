"""The agent's own login as the proxy sees it: tokens bound to their vendor's endpoints.

Each token the session holds is a placeholder (`sandbox.logins`), owned by one vendor.
On that vendor's endpoints the proxy swaps placeholders for the real tokens, refuses
any other credential (incident 2: an attacker's key on an allowed API domain), and
swaps the tokens of a token endpoint's answer for new placeholders. Anywhere else a
request carrying one of the tokens (placeholder or real, in any encoding the canary
scan knows) is refused as critical, exactly like a canary.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from urllib.parse import parse_qsl, urlsplit

from sandbox.logins import LoginFileError, swap_tokens
from sandbox.proxy.inspect import RequestView, canary_patterns, find_canary, foreign_credential

# Public by design (RFC 8252: an installed app cannot keep a secret), sent by Gemini CLI
# with every token refresh: not the user's credential.
_PUBLIC_OAUTH_FIELDS = frozenset({"client_id", "client_secret"})


# Paths whose answers carry new login tokens: OAuth 2.0 `/token` (the vendors' own
# `/v1/oauth/token`, `/oauth/token`), and Claude Code's console sign-in, which trades
# its OAuth token for an API key (`/api/oauth/claude_cli/create_api_key`, `raw_key`).
_TOKEN_PATHS = ("/token", "/create_api_key")


def is_token_endpoint(path: str) -> bool:
    """Is this (path, or URL) a token endpoint, whose request and answer carry login
    tokens?"""
    return urlsplit(path).path.endswith(_TOKEN_PATHS)


@dataclass(frozen=True)
class VendorLogin:
    """One vendor: where its tokens may go, and the header an API key travels in."""

    vendor: str
    endpoints: tuple[str, ...]
    header: str


@dataclass
class LoginTokens:
    """The session's login tokens (placeholder → real) and their vendors.

    `on_change` is called (from the proxy's loop) when a token endpoint gave new tokens,
    so the service can save them into the real login file."""

    vendors: dict[str, VendorLogin] = field(default_factory=dict)
    real: dict[str, str] = field(default_factory=dict)
    vendor_of: dict[str, str] = field(default_factory=dict)
    on_change: Callable[[], object] | None = None
    # (vendor, token kind) → the newest placeholder a token endpoint gave (sandbox.logins).
    latest: dict[tuple[str, str], str] = field(default_factory=dict)
    _forms: dict[str, set[bytes]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def build(
        cls,
        vendors: Iterable[VendorLogin],
        real: Mapping[str, str],
        vendor_of: Mapping[str, str],
        on_change: Callable[[], object] | None = None,
    ) -> LoginTokens:
        tokens = cls({v.vendor: v for v in vendors}, dict(real), dict(vendor_of), on_change)
        for placeholder in tokens.real:
            tokens._learn(placeholder)
        return tokens

    def snapshot(self) -> tuple[dict[str, str], dict[tuple[str, str], str]]:
        """Copies of `real` and `latest`, safe to use on another thread."""
        with self._lock:
            return dict(self.real), dict(self.latest)

    def vendor_at(self, host: str) -> VendorLogin | None:
        """The vendor whose endpoint `host` is, if any."""
        for login in self.vendors.values():
            if host in login.endpoints:
                return login
        return None

    def placeholders(self, vendor: str) -> list[str]:
        return [p for p, v in self.vendor_of.items() if v == vendor]

    def stray(self, view: RequestView, host: str) -> str | None:
        """The vendor of a login token this request carries toward `host`, which is not
        one of that vendor's endpoints; None if it carries none."""
        with self._lock:
            forms = {p: f for p, f in self._forms.items() if p in self.vendor_of}
        foreign = {
            p: f for p, f in forms.items() if host not in self.vendors[self.vendor_of[p]].endpoints
        }
        found = find_canary(view, foreign) if foreign else None
        return self.vendor_of[found] if found is not None else None

    def foreign(self, view: RequestView, login: VendorLogin) -> str | None:
        """Why a request to `login`'s endpoint carries a credential that is not one of
        this session's tokens for it, or None. A request with no credential passes.

        What authenticates a request to the vendor, and so decides whose account gets
        the data, is in its headers and URL; a body authenticates only at a token
        endpoint. Elsewhere the body is the agent's conversation, which may quote any
        text of the workspace (and names fields `prompt_cache_key`): it is not searched.
        """
        allowed = self.placeholders(login.vendor)
        stripped = _without(view, allowed)
        if not is_token_endpoint(view.url):
            stripped = replace(stripped, body=b"")
        # No header is bound here: a credential header left once the session's own
        # tokens are taken out carries someone else's.
        return foreign_credential(stripped, "", "", require=False)

    def swap_in(self, text: bytes, vendor: str) -> bytes:
        """`text` with the vendor's placeholders replaced by the real tokens."""
        for placeholder in self.placeholders(vendor):
            token = placeholder.encode()
            if token in text:
                text = text.replace(token, self.real[placeholder].encode())
        return text

    def swap_out(self, body: str, vendor: str) -> str | None:
        """A token endpoint's JSON answer with every new token replaced by a placeholder
        (made now, bound to `vendor`); None if it carried no token."""
        with self._lock:
            before = len(self.real)
            try:
                shown = swap_tokens(body, self.real, self.vendor_of, vendor, self.latest)
            except LoginFileError:
                return None
            fresh = list(self.real)[before:]
            for placeholder in fresh:
                self._learn(placeholder)
        if shown == body:
            return None
        if fresh and self.on_change is not None:
            self.on_change()
        return shown

    def _learn(self, placeholder: str) -> None:
        # Both the placeholder and the real token: the real one should never be inside,
        # but if it got there some other way it is no less the user's login.
        self._forms[placeholder] = canary_patterns(placeholder) | canary_patterns(
            self.real[placeholder]
        )


def _without(view: RequestView, placeholders: list[str]) -> RequestView:
    """The request with the session's own tokens (and the public OAuth client fields)
    taken out, so that what remains can be checked for any other credential."""

    def clean(text: str) -> str:
        for placeholder in placeholders:
            text = text.replace(placeholder, "")
        return text

    headers = [(name, clean(value)) for name, value in view.headers]
    headers = [(n, v) for n, v in headers if v.strip() not in ("", "Bearer", "bearer")]
    body = view.body
    for placeholder in placeholders:
        body = body.replace(placeholder.encode(), b"")
    body = _drop_public_fields(body)
    return RequestView(url=clean(view.url), headers=headers, body=body)


def _drop_public_fields(body: bytes) -> bytes:
    if b"client_secret" not in body:
        return body
    try:
        data = json.loads(body)
    except ValueError:
        try:
            pairs = parse_qsl(body.decode("ascii"), keep_blank_values=True)
        except UnicodeDecodeError:
            return body
        kept = [(k, v) for k, v in pairs if k not in _PUBLIC_OAUTH_FIELDS]
        return "&".join(f"{k}={v}" for k, v in kept).encode()
    if isinstance(data, dict):
        data = {k: v for k, v in data.items() if k not in _PUBLIC_OAUTH_FIELDS}
    return json.dumps(data).encode()
