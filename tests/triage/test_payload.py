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
