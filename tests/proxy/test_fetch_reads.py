"""`network.fetch`: reads from a package registry go through unasked; an upload to it, or a
read after a credential was touched, waits for a person like any unknown request. The
real service, `sandgate run` in a real sandbox, a stand-in registry on 127.0.0.1."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.proxy.conftest import Servers, sandgate, serving

if shutil.which("bwrap") is None or shutil.which("socat") is None:  # pragma: no cover
    pytest.skip("needs bubblewrap and socat", allow_module_level=True)


@pytest.fixture
def service(short_runtime: Path, servers: Servers) -> Iterator[Any]:
    with serving(
        "version: 1\n"
        "network:\n"
        f"  allow: ['127.0.0.1:{servers.https.port}']\n"
        "  resolve: {registry.test: 127.0.0.1}\n"
        "  fetch: [registry.test]\n"
        "  ask_timeout: 1\n"
        f"  upstream_ca: {servers.pki.ca_pem}\n"
    ) as thread:
        yield thread


def rows(cwd: Path) -> list[dict[str, Any]]:
    out = sandgate("history", "--json", cwd=cwd).stdout
    return [r for r in map(json.loads, out.splitlines()) if r["kind"] == "net.request"]


def test_a_registry_read_passes_unasked_and_an_upload_waits(
    service, servers: Servers, tmp_path: Path
) -> None:
    workspace = tmp_path / "ws"
    workspace.mkdir()
    base = f"https://registry.test:{servers.https.port}"
    script = (
        f"curl -sS -o /dev/null -w '%{{http_code}} ' {base}/simple/requests/; "
        f"curl -sS -o /dev/null -I {base}/simple/flask/; "
        f"curl -sS -o /dev/null -w '%{{http_code}}' --data-binary @README {base}/legacy/"
    )
    (workspace / "README").write_text("the project\n")
    run = sandgate("run", "--", "sh", "-c", script, cwd=workspace)
    assert run.stdout == "200 403", run.stdout + run.stderr
    assert "/legacy/" not in servers.https.paths()
    decided = sorted((r["decision"], r["decided_by"]) for r in rows(workspace))
    # Both reads by the rule; the upload asked, nobody answered in time: denied.
    assert decided == [("allow", "fetch:registry.test")] * 2 + [("deny", "timeout")], decided


def test_a_read_after_a_credential_read_waits(
    service, servers: Servers, isolated_env: Path, tmp_path: Path
) -> None:
    aws = isolated_env / ".aws"
    aws.mkdir()
    (aws / "credentials").write_text("[default]\naws_access_key_id = AKIAREALREALREAL1234\n")
    workspace = tmp_path / "ws"
    workspace.mkdir()
    url = f"https://registry.test:{servers.https.port}/simple/after-read/"
    # The decoy read is reported within a second; the request comes after it.
    curl = f"curl -sS -o /dev/null -w '%{{http_code}}' {url}"
    script = f"cat ~/.aws/credentials >/dev/null; sleep 3; {curl}"
    run = sandgate("run", "--", "sh", "-c", script, cwd=workspace)
    assert run.stdout == "403", run.stdout + run.stderr
    assert "/simple/after-read/" not in servers.https.paths()
    [row] = [r for r in rows(workspace) if r["host"] == "registry.test"]
    assert row["band"] == "critical" and row["decided_by"] != "fetch:registry.test", row


def test_fetch_names_domains_only_and_the_users_list_replaces_the_shipped_one(
    isolated_env: Path, tmp_path: Path
) -> None:
    from app.paths import Paths
    from resources import resources_dir
    from sandbox.policy import PolicyError, load_policy, policy_files

    paths = Paths.from_environment().ensure()
    defaults = resources_dir() / "policy" / "default.yaml"
    shipped = load_policy(*policy_files(defaults, None), home=isolated_env)
    assert "pypi.org" in shipped.network.fetch
    assert "proxy.golang.org" not in shipped.network.fetch  # a relay to any host
    paths.user_policy.write_text("version: 1\nnetwork:\n  fetch: []\n")
    off = load_policy(*policy_files(defaults, paths.user_policy), home=isolated_env)
    assert off.network.fetch == ()
    paths.user_policy.write_text("version: 1\nnetwork:\n  fetch:\n    - pypi.org\n    - 10.0.0.1\n")
    with pytest.raises(PolicyError) as refused:
        load_policy(*policy_files(defaults, paths.user_policy), home=isolated_env)
    assert "policy.yaml:5: " in str(refused.value) and "must be a domain name" in str(refused.value)
    workspace = tmp_path / "ws"
    workspace.mkdir()
    (workspace / ".sandgate.yaml").write_text("version: 1\nnetwork:\n  fetch: [evil.test]\n")
    paths.user_policy.write_text("version: 1\n")
    with pytest.raises(PolicyError) as widening:
        load_policy(defaults, workspace=workspace, home=isolated_env)
    assert "network.fetch" in str(widening.value), widening.value
