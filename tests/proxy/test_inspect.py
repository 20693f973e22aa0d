"""Canary search and foreign-credential detection, as tables with near misses."""

from __future__ import annotations

import base64
import binascii
import os
from urllib.parse import quote, quote_plus

import pytest

from sandbox.proxy.inspect import (
    MISSING_PREFIX,
    RequestView,
    canary_patterns,
    find_canary,
    foreign_credential,
)

CANARY = "sgc5f1e0d9c8b7a69584736251403f2e1d0"
PATTERNS = {CANARY: canary_patterns(CANARY)}


def view(url: str = "https://x.test/", headers=(), body: bytes = b"") -> RequestView:
    return RequestView(url, list(headers), body)


@pytest.mark.parametrize("prefix", range(0, 6))
@pytest.mark.parametrize("suffix", range(0, 4))
@pytest.mark.parametrize("encode", [base64.b64encode, base64.urlsafe_b64encode])
def test_canary_found_in_base64_at_any_alignment(prefix: int, suffix: int, encode) -> None:
    data = os.urandom(prefix) + CANARY.encode() + os.urandom(suffix)
    assert find_canary(view(body=encode(data)), PATTERNS) == CANARY


@pytest.mark.parametrize(
    "request_view",
    [
        view(url=f"https://x.test/?q={CANARY}"),
        view(url=f"https://x.test/{quote('a/' + CANARY)}"),
        view(headers=[("Cookie", f"s={CANARY}")]),
        view(body=quote_plus(f"key = {CANARY}").encode()),
        view(body=binascii.hexlify(CANARY.encode())),
        view(body=b"%s" % "".join(f"%{b:02x}" for b in CANARY.encode()).encode()),
    ],
    ids=["query", "path", "header", "form", "hex", "fully-percent-encoded"],
)
def test_canary_found(request_view: RequestView) -> None:
    assert find_canary(request_view, PATTERNS) == CANARY


@pytest.mark.parametrize(
    "request_view",
    [
        view(body=CANARY[:-1].encode()),
        view(body=base64.b64encode(os.urandom(512))),
        view(headers=[("X", CANARY[:20])]),
    ],
    ids=["truncated", "random-base64", "prefix-only"],
)
def test_near_misses_are_not_canaries(request_view: RequestView) -> None:
    assert find_canary(request_view, PATTERNS) is None


PH = "sandgate-placeholder-0123456789"


@pytest.mark.parametrize(
    "request_view,expected",
    [
        (view(headers=[("x-api-key", PH)]), None),
        (view(headers=[("X-Api-Key", PH), ("Content-Type", "application/json")]), None),
        (view(headers=[("x-api-key", PH)], body=b'{"model": "m", "max_tokens": 5}'), None),
        (view(headers=[("x-api-key", "sk-ant-api03-" + "A" * 30)]), "placeholder"),
        (view(headers=[("x-api-key", PH), ("Authorization", "Bearer abc")]), "Authorization"),
        (view(headers=[("x-api-key", PH), ("X-Session-Token", "abc")]), "X-Session-Token"),
        (view(url="https://x.test/?api_key=abc", headers=[("x-api-key", PH)]), "api_key"),
        (view(headers=[("x-api-key", PH)], body=b"password=hunter2"), "password"),
        (view(headers=[("x-api-key", PH)], body=b'{"auth_token": "abcdefghijk"}'), "auth_token"),
        (view(headers=[("x-api-key", PH)], body=b"see ghp_" + b"a" * 36), "vendor"),
        (view(headers=[("x-api-key", f"{PH} AKIAABCDEFGHIJKLMNOP")]), "placeholder"),
        (view(), MISSING_PREFIX),
    ],
)
def test_foreign_credentials(request_view: RequestView, expected: str | None) -> None:
    found = foreign_credential(request_view, "x-api-key", PH)
    if expected is None:
        assert found is None
    else:
        assert found is not None and expected in found


def test_placeholder_in_bearer_form_is_accepted() -> None:
    request_view = view(headers=[("Authorization", f"Bearer {PH}")])
    assert foreign_credential(request_view, "authorization", PH) is None
