"""The payload scan gives the same findings on its small, large and dense paths."""

from __future__ import annotations

import base64
import json
import random

import pytest

from triage.catalogues import Catalogues
from triage.payload import LARGE, canaries_of, canary_variants, scan

CANARY = "SGCANARY-4b1d9e7c2a0f55aa"
GH = "ghp_" + "aB3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1dE3fG5"
AWS = "AKIAIOSFODNN7EXAMPLE"


def prose(size: int) -> bytes:
    words = b"the quick brown fox jumps over a lazy dog while agents write code".split()
    rnd = random.Random(3)
    out = b" ".join(rnd.choice(words) for _ in range(size // 4))
    return out[:size]


def dense(size: int) -> bytes:
    rnd = random.Random(4)
    items = [
        {"name": f"pkg-{i}", "integrity": "sha512-" + base64.b64encode(rnd.randbytes(64)).decode()}
        for i in range(size // 100)
    ]
    return json.dumps(items).encode()[:size]


def blob(size: int) -> bytes:
    return base64.b64encode(random.Random(5).randbytes(size * 3 // 4))


@pytest.mark.parametrize("make", [prose, dense, blob], ids=["prose", "dense", "blob"])
@pytest.mark.parametrize("size", [2000, LARGE * 2], ids=["small", "large"])
def test_secret_found_wherever_it_sits(catalogues: Catalogues, make, size: int) -> None:  # type: ignore[no-untyped-def]
    filler = make(size)
    for secret, fmt in ((GH, "github-token"), (AWS, "aws-access-key")):
        for at in (0, len(filler) // 2, len(filler)):
            data = filler[:at] + b' {"t": "' + secret.encode() + b'"} ' + filler[at:]
            found = scan(data, catalogues)
            assert fmt in {s.format for s in found.secrets}, (make.__name__, size, at)


@pytest.mark.parametrize("make", [prose, dense, blob], ids=["prose", "dense", "blob"])
@pytest.mark.parametrize("size", [2000, LARGE * 2], ids=["small", "large"])
def test_canary_in_every_spelling(catalogues: Catalogues, make, size: int) -> None:  # type: ignore[no-untyped-def]
    canaries = canaries_of([CANARY])
    filler = make(size)
    for needle, how in canary_variants(CANARY):
        data = filler[: len(filler) // 2] + b" x=" + needle + b" " + filler[len(filler) // 2 :]
        assert scan(data, catalogues, canaries).canary == how, (make.__name__, how)
    assert scan(filler, catalogues, canaries).canary is None


def test_canary_inside_encoded_file(catalogues: Catalogues) -> None:
    canaries = canaries_of([CANARY])
    for pad in range(3):
        decoy = b"[default]\n" + b"x" * pad + f"aws_access_key_id = {CANARY}\n".encode()
        assert scan(base64.b64encode(decoy), catalogues, canaries).canary == "base64"


def test_generic_secret_in_dense_and_small(catalogues: Catalogues) -> None:
    field = b'"password": "x9Qf2LmZ7rT4wB8kVn3J"'
    assert scan(b"{" + field + b"}", catalogues).secrets
    assert scan(dense(LARGE * 2) + field, catalogues).secrets
    assert scan(dense(LARGE * 2) + field.replace(b"password", b"DB_PASSWORD"), catalogues).secrets
    assert not scan(b'{"password": "correcthorsebattery"}', catalogues).secrets


def test_blob_kinds(catalogues: Catalogues) -> None:
    assert scan(blob(4000), catalogues).blob == "base64"
    assert scan(random.Random(1).randbytes(2000).hex().encode(), catalogues).blob == "hex"
    pct = "".join(f"%{b:02X}" for b in random.Random(2).randbytes(600)).encode()
    assert scan(pct, catalogues).blob == "percent-encoded"
    assert scan(prose(LARGE * 2), catalogues).blob is None
    assert scan(b"/usr/lib/" * 200, catalogues).blob is None


def test_placeholders_are_not_secrets(catalogues: Catalogues) -> None:
    assert not scan(GH.encode(), catalogues, allowed=frozenset({GH.encode()})).secrets


@pytest.mark.parametrize(
    "wrap",
    [
        lambda c: base64.b64encode(base64.b64encode(c)),
        lambda c: base64.urlsafe_b64encode(base64.b64encode(b"k=" + c)),
        lambda c: base64.b64encode(c.hex().encode()),
        lambda c: base64.b64encode(c).hex().encode(),
        lambda c: b"q=" + base64.b64encode(base64.b64encode(c)).replace(b"=", b"%3D"),
    ],
    ids=["b64-b64", "urlsafe-b64", "b64-hex", "hex-b64", "query"],
)
def test_canary_encoded_twice(catalogues: Catalogues, wrap) -> None:  # type: ignore[no-untyped-def]
    canaries = canaries_of([CANARY])
    data = b'{"d": "' + wrap(CANARY.encode()) + b'"}'
    found = scan(data, catalogues, canaries).canary
    assert found is not None and "inside" in found
    assert (
        scan(b'{"d": "' + wrap(b"not-the-canary-at-all-x") + b'"}', catalogues, canaries).canary
        is None
    )


def test_compressed_payload(catalogues: Catalogues) -> None:
    import gzip
    import zlib

    canaries = canaries_of([CANARY])
    body = prose(5000) + f" aws_access_key_id={CANARY} {AWS} ".encode()
    for packed in (gzip.compress(body), zlib.compress(body)):
        found = scan(packed, catalogues, canaries)
        assert found.canary == "compressed plain"
        assert "aws-access-key" in {s.format for s in found.secrets}
    assert scan(gzip.compress(prose(5000)), catalogues, canaries).canary is None
    bomb = gzip.compress(b"\0" * (64 * 1024 * 1024))
    assert scan(bomb, catalogues, canaries).canary is None  # bounded, and quick


MIB = 1024 * 1024


def json_lines(size: int) -> bytes:
    line = b'{"event":"page_view","path":"/docs/getting-started","status":200,"ms":42}\n'
    return (line * (size // len(line) + 1))[:size]


def b64_lines(size: int) -> bytes:
    line = base64.b64encode(random.Random(6).randbytes(990)) + b"\n"
    return (line * (size // len(line) + 1))[:size]


@pytest.mark.parametrize("make", [prose, json_lines, b64_lines], ids=["prose", "json", "b64"])
def test_canary_at_the_very_end_of_a_mib(catalogues: Catalogues, make) -> None:  # type: ignore[no-untyped-def]
    """Every spelling (each base64 alignment, both alphabets, hex, percent-encoded) is
    found as the last bytes of a 1 MiB body, glued to the filler or after a space."""
    canaries = canaries_of([CANARY])
    filler = make(MIB)
    for needle, how in canary_variants(CANARY):
        for glue in (b" ", b"\n", b"="):
            assert scan(filler + glue + needle, catalogues, canaries).canary == how, (how, glue)
    assert scan(filler, catalogues, canaries).canary is None


def test_canary_among_very_many_runs(catalogues: Catalogues) -> None:
    """Past the joined-runs limit the spellings are looked for in the whole payload."""
    canaries = canaries_of([CANARY])
    runs = b" ".join(f"/docs/page-number-{i:08d}".encode() for i in range(20000))
    for needle, how in canary_variants(CANARY):
        assert scan(runs + b" " + needle, catalogues, canaries).canary == how


@pytest.mark.parametrize("boundary", [4096, LARGE], ids=["4KiB", "64KiB"])
def test_secret_straddling_a_size_boundary(catalogues: Catalogues, boundary: int) -> None:
    for make in (prose, json_lines):
        for offset in (1, 4, 10, len(GH) - 1):
            head = make(boundary - offset)
            data = head + b" " + GH.encode() + b" " + make(boundary)
            found = {s.format for s in scan(data, catalogues).secrets}
            assert "github-token" in found, (make.__name__, offset)


@pytest.mark.parametrize("size", [2000, LARGE * 2], ids=["small", "large"])
def test_secret_after_a_separator_inside_a_token(catalogues: Catalogues, size: int) -> None:
    filler = prose(size)
    for glued, fmt in (
        (b"key_" + GH.encode(), "github-token"),
        (b"x." + AWS.encode(), "aws-access-key"),
    ):
        data = filler + b" " + glued + b" " + filler
        assert fmt in {s.format for s in scan(data, catalogues).secrets}
    # Glued to letters or digits it is part of a longer word, not a key.
    assert not scan(filler + b" x" + GH.encode() + b" ", catalogues).secrets


@pytest.mark.parametrize("size", [2000, LARGE * 2], ids=["small", "large"])
def test_generic_value_with_slashes(catalogues: Catalogues, size: int) -> None:
    """A value whose token-character pieces are cut by `/` or `+` is judged whole, by
    the field name before it."""
    field = b"aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n"
    assert scan(prose(size) + b"\n" + field, catalogues).secrets
    plain = b"path = src/components/navigation/SidebarMenuItem.tsx\n"
    assert not scan(prose(size) + b"\n" + plain, catalogues).secrets


def test_dense_payload_past_the_token_walk(catalogues: Catalogues) -> None:
    """A payload with more tokens than the walk takes is finished per prefix: a secret
    or a generic value after the limit is still found."""
    rnd = random.Random(8)
    tokens = b" ".join(rnd.randbytes(12).hex().encode() for _ in range(60000))
    found = scan(tokens + b" " + GH.encode(), catalogues)
    assert "github-token" in {s.format for s in found.secrets}
    found = scan(tokens + b' "password": "x9Qf2LmZ7rT4wB8kVn3J"', catalogues)
    assert "generic" in {s.format for s in found.secrets}


def test_longest_blob_is_reported(catalogues: Catalogues) -> None:
    lines = b64_lines(MIB)
    found = scan(lines, catalogues)
    assert found.blob == "base64" and found.blob_length == lines.index(b"\n")
    longer = base64.b64encode(random.Random(9).randbytes(3000))
    found = scan(lines[:20000] + b"\n" + b"/" * 5000 + b"\n" + longer + b"\n", catalogues)
    assert found.blob == "base64" and found.blob_length == len(longer)


def test_canary_encoded_twice_in_a_large_payload(catalogues: Catalogues) -> None:
    """A large payload with a few hundred runs is still decoded run by run."""
    canaries = canaries_of([CANARY])
    twice = base64.b64encode(base64.b64encode(b"key=" + CANARY.encode()))
    data = prose(LARGE * 4) + b' {"d": "' + twice + b'"} ' + prose(LARGE)
    found = scan(data, catalogues, canaries).canary
    assert found is not None and "inside" in found


@pytest.mark.parametrize(
    "field",
    [
        b'{"Api_Key": "x9Qf2LmZ7rT4wB8kVn3J"}',
        b"AUTHORIZATION: Bearer x9Qf2LmZ7rT4wB8kVn3J",
        b"DB_PassWord=x9Qf2LmZ7rT4wB8kVn3J",
    ],
)
def test_generic_field_names_in_any_case(catalogues: Catalogues, field: bytes) -> None:
    """The field-name pre-check folds case as the pattern does."""
    assert scan(field, catalogues).secrets
    assert scan(prose(LARGE * 2) + b"\n" + field + b"\n", catalogues).secrets
