"""Remembered decisions through the real service: listed with who and when, revoked
for good (the state file too), and a revoked one asks again."""

from __future__ import annotations

import json
import time
from typing import Any

from app.client import connect
from tests.ui.conftest import Service, batch_of


def _remember(service: Service, scope: str) -> str:
    s = service.open_session()
    service.hold(s, "low", "https://pypi.org/simple/requests/")
    deadline = time.monotonic() + 5
    while not service.queue.listing() and time.monotonic() < deadline:
        time.sleep(0.02)
    batch = batch_of(service, "pypi.org")
    with connect(service.paths) as client:  # type: ignore[union-attr]
        client.request("decide", batch=batch, decision="allow", scope=scope)
    return s


def test_listed_then_revoked_through_the_socket(service: Service) -> None:
    before = time.time()
    session = _remember(service, "workspace")
    state_file = service.paths.state / "decisions.json"
    with connect(service.paths) as client:  # type: ignore[union-attr]
        rules: list[dict[str, Any]] = client.request("remembered")["rules"]
        assert len(rules) == 1
        rule = rules[0]
        assert rule["signature"] == "net pypi.org:443" and rule["decision"] == "allow"
        assert rule["scope"] == "workspace" and rule["workspace"] == str(service.workspace)
        assert rule["by"] == "user" and rule["made"] >= before and rule["expires"] is None
        assert [r["signature"] for r in json.loads(state_file.read_text())] == [rule["signature"]]
        # Remembered: the same destination is allowed without asking.
        assert service.hold(session, "low", "https://pypi.org/simple/flask/").result(5).allow
        assert client.request("remembered.revoke", id=rule["id"])["revoked"] == rule["id"]
        assert client.request("remembered")["rules"] == []
        assert json.loads(state_file.read_text()) == []
        try:
            client.request("remembered.revoke", id=rule["id"])
        except Exception as exc:  # the service says so, by name
            assert "no remembered decision" in str(exc)
        else:
            raise AssertionError("revoking twice was accepted")
    # Revoked: the next request waits for a person again.
    held = service.hold(session, "low", "https://pypi.org/simple/django/", timeout=0.5)
    assert held.result(5).by != "remembered"
