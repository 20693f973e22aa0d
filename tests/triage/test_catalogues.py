"""Catalogues: credential locations on both systems, with and without a home."""

from __future__ import annotations

from pathlib import Path

import pytest

from triage.catalogues import CatalogueError, Catalogues, load_catalogues

REQUIRED = [
    ("~/.aws/credentials", "aws"),
    ("~/.config/gcloud/application_default_credentials.json", "gcloud"),
    ("~/.azure/msal_token_cache.json", "azure"),
    ("~/.ssh/id_ed25519", "ssh-private-key"),
    ("~/.gnupg/private-keys-v1.d/ABC.key", "gnupg"),
    ("~/.kube/config", "kube"),
    ("~/.docker/config.json", "docker"),
    ("~/.npmrc", "npm"),
    ("~/.pypirc", "pypi"),
    ("~/.netrc", "netrc"),
    ("~/.git-credentials", "git-credentials"),
    ("~/.config/gh/hosts.yml", "github-cli"),
    ("~/.claude/.credentials.json", "claude"),
    ("~/.codex/auth.json", "codex"),
    ("~/.gemini/oauth_creds.json", "gemini"),
    ("~/.config/google-chrome/Default/Cookies", "chrome"),
    ("~/Library/Application Support/Google/Chrome/Profile 1/Login Data", "chrome"),
    ("~/.mozilla/firefox/abc.default/logins.json", "firefox"),
    ("~/.local/share/keyrings/login.keyring", "keyring"),
    ("~/Library/Keychains/login.keychain-db", "keyring"),
    ("~/.password-store/email/work.gpg", "password-manager"),
    ("/srv/app/.env", "env-file"),
    ("~/.aws/sso/cache/abc.json", "aws-sso-cache"),
    ("/proc/self/environ", "process-environment"),
    ("/proc/4242/environ", "process-environment"),
]


@pytest.mark.parametrize(("path", "cid"), REQUIRED)
def test_required_locations(catalogues: Catalogues, path: str, cid: str) -> None:
    entry = catalogues.match_credential(path, "/home/me")
    assert entry is not None and entry.id == cid
    # The same file under the real home, under another user's home, and on macOS.
    rest = path[1:] if path.startswith("~") else None
    if rest is not None:
        for prefix in ("/home/me", "/home/other", "/Users/amy", "/root"):
            found = catalogues.match_credential(prefix + rest, None)
            assert found is not None and found.id == cid, prefix + rest


@pytest.mark.parametrize(
    "path",
    [
        "~/.ssh/id_ed25519.pub",
        "~/.ssh/known_hosts",
        "/home/me/project/aws/credentials.md",
        "/srv/.env.example",
        "/etc/hosts",
    ],
)
def test_near_misses(catalogues: Catalogues, path: str) -> None:
    assert catalogues.match_credential(path, "/home/me") is None


@pytest.mark.parametrize(
    "path",
    [
        "/home/me/x/../.aws//./credentials",
        "~/.aws/credentials",
        "~me/.aws/credentials",
        "~root/.ssh/id_rsa",
        "/proc/self/root/home/me/.aws/credentials",
        "/proc/1/root/root/.netrc",
        "/Users/amy/.AWS/Credentials",
        "/home/me/.SSH/ID_RSA",
    ],
)
def test_path_tricks_normalise(catalogues: Catalogues, path: str) -> None:
    assert catalogues.match_credential(path, None) is not None
    assert catalogues.match_credential(path, "/home/me") is not None


def test_schema_is_kept(catalogue_dir: Path) -> None:
    import yaml

    data = yaml.safe_load((catalogue_dir / "credentials.yaml").read_text())
    formats = {
        "aws-ini",
        "ssh-private-key",
        "netrc",
        "git-credentials",
        "json",
        "yaml",
        "ini",
        "env",
        "text",
        "none",
    }
    ids = set()
    for entry in data["credentials"]:
        assert set(entry) == {"id", "title", "paths", "format"}, entry
        assert entry["format"] in formats
        assert entry["id"] not in ids
        ids.add(entry["id"])


def test_destinations(catalogues: Catalogues) -> None:
    low = catalogues.destination("files.pythonhosted.org").klass
    assert low is not None and low.risk == "low"
    high = catalogues.destination("abc.trycloudflare.com").klass
    assert high is not None and high.risk == "high"
    assert catalogues.destination("evilpypi.org").klass is None  # suffix must be a label
    assert catalogues.destination("metadata.google.internal").metadata


def test_broken_catalogue_is_named(tmp_path: Path, catalogue_dir: Path) -> None:
    for f in catalogue_dir.glob("*.yaml"):
        (tmp_path / f.name).write_text(f.read_text())
    (tmp_path / "credentials.yaml").write_text("credentials:\n  - id: x\n")
    with pytest.raises(CatalogueError, match=r"credentials\.yaml entry 0"):
        load_catalogues(tmp_path)


def test_triage_and_the_decoys_read_the_same_credential_entries(resources: Path) -> None:
    """One reader (resources/credential_catalogue.py) serves both, so they cannot drift."""
    from sandbox.decoys import load_catalogue

    folder = resources / "catalogues"
    shared = load_catalogue(folder / "credentials.yaml")
    assert shared and load_catalogues(folder).credentials[: len(shared)] == shared
