"""Paths and patterns in SBPL: quoting, and globs as regexes that mean what they say."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from sandbox.seatbelt.sbpl import ProfileError, filters, glob_regex, quote, resolve, split

from .sbpl_model import read


@pytest.mark.parametrize(
    "text",
    ["/plain", "/with space", '/a "quoted" name', "/back\\slash", "/[x]", "/café 漢字", '/")'],
)
def test_quote_reads_back_as_the_same_string(text: str) -> None:
    (expr,) = read(f"(literal {quote(text)})")
    assert expr[1].value == text


def test_quote_refuses_control_characters() -> None:
    with pytest.raises(ProfileError, match="control character"):
        quote("/a\nb")


# (pattern, paths it matches, paths it does not)
GLOBS = [
    ("/h/*.json", ["/h/a.json", "/h/.hidden.json"], ["/h/d/a.json", "/h/a.jsonx", "/hxa.json"]),
    ("/h/id_?sa", ["/h/id_rsa", "/h/id_dsa"], ["/h/id_ecdsa", "/h/id_/sa"]),
    ("/h/a/**/b", ["/h/a/b", "/h/a/x/b", "/h/a/x/y/b"], ["/h/ab", "/h/a/xb", "/h/c/a/b"]),
    ("/h/d/**", ["/h/d", "/h/d/x", "/h/d/x/y"], ["/h/dx", "/h"]),
    ("/h/v[12]", ["/h/v1", "/h/v2"], ["/h/v3", "/h/v[12]", "/h/v"]),
    ("/h/v[!1]", ["/h/v2"], ["/h/v1", "/h/v/"]),
    ("/h/a[b", ["/h/a[b"], ["/h/ab"]),  # an unclosed bracket is an ordinary character
    ("/h/a.b+c(d)|e$f^g", ["/h/a.b+c(d)|e$f^g"], ["/h/aXb+c(d)|e$f^g", "/h/abbc"]),
]


@pytest.mark.parametrize(("pattern", "hits", "misses"), GLOBS)
def test_glob_regex(pattern: str, hits: list[str], misses: list[str]) -> None:
    expression = re.compile(glob_regex(pattern, folder_too=True))
    for path in hits:
        assert expression.search(path), (pattern, path)
    for path in misses:
        assert not expression.search(path), (pattern, path)


def test_a_folder_is_never_read_as_a_pattern() -> None:
    # The home's own name has brackets; only the remainder is a pattern.
    (found,) = filters("/Users/a [b]", ".aws/*.json", deny=False)
    expression = re.compile(read(found)[0][1].value)
    assert expression.search("/Users/a [b]/.aws/x.json")
    assert not expression.search("/Users/ab/.aws/x.json")


def test_literal_first_for_allow_both_for_deny(tmp_path: Path) -> None:
    (tmp_path / "v[1]").mkdir()
    allow = filters(str(tmp_path), "v[1]", deny=False)
    assert allow == [f'(subpath "{tmp_path}/v[1]")']  # it exists: the literal reading
    deny = filters(str(tmp_path), "v[1]", deny=True)
    assert f'(subpath "{tmp_path}/v[1]")' in deny and any("regex" in f for f in deny)
    assert filters(str(tmp_path), "w[1]", deny=False)[0].startswith("(regex")


def test_split_resolves_links_in_the_fixed_part(tmp_path: Path) -> None:
    real = tmp_path / "real"
    (real / "sub").mkdir(parents=True)
    os.symlink(real, tmp_path / "link")
    assert split(str(tmp_path / "link"), "sub/*.key") == (str(real / "sub"), "*.key")
    assert resolve("~/.ssh/**", str(tmp_path / "link")) == (str(real / ".ssh"), "**")
    assert resolve("relative/x", "/h") is None
