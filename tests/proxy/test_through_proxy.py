"""Behaviours 9–15 and 20 with real clients through the real proxy (relay like the sandbox's).

Every name resolves to 127.0.0.1 through the policy's `resolve` map, so each allowed
name also needs the address rule for the test server's port (loopback is reachable
only through an address rule).
"""

from __future__ import annotations

import base64
import json
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from sandbox.proxy.session import SecretBinding
from tests.proxy.conftest import Net, Servers, curl, have, serve_git_repository


def loopback(servers: Servers) -> tuple[str, ...]:
    return (f"127.0.0.1:{servers.http.port}", f"127.0.0.1:{servers.https.port}")


def status(result: subprocess.CompletedProcess[str]) -> str:
    """The final response's status line (after a CONNECT's own, if any)."""
    lines = [line for line in result.stdout.splitlines() if line.startswith("HTTP/")]
    return lines[-1] if lines else result.stderr


def refused(result: subprocess.CompletedProcess[str]) -> bool:
    """Refused by Sandgate with a 403 (HTTP/1.1 or, inside intercepted TLS, HTTP/2)."""
    return status(result).split(" ")[1:2] == ["403"] and "Sandgate refused" in result.stdout


# --- 9: allowed works for HTTP and HTTPS; denied is refused with a reason ----------------


def test_allowed_domain_works_for_http_and_https(open_session, servers: Servers) -> None:
    s = open_session(Net(allow=("api.example.test", *loopback(servers))))
    plain = curl(s, f"http://api.example.test:{servers.http.port}/plain")
    secure = curl(s, f"https://api.example.test:{servers.https.port}/secure")
    assert plain.stdout == f"hello from api.example.test:{servers.http.port} /plain\n"
    assert secure.stdout == f"hello from api.example.test:{servers.https.port} /secure\n"
    s.wait_events(2)
    kinds = sorted(e["kind"] for e, _ in s.events)
    # plain HTTP is visible; allowed HTTPS is an opaque tunnel (TLS passed through)
    assert kinds == ["net.connect", "net.request"]
    assert all(o.action == "allow" and o.rule == "api.example.test" for o in s.outcomes())


def test_tls_to_allowed_domain_is_passed_through_untouched(open_session, servers) -> None:
    s = open_session(Net(allow=("api.example.test", *loopback(servers))))
    url = f"https://api.example.test:{servers.https.port}/"
    # Trusting only the upstream test CA works only if the proxy did not re-sign.
    result = subprocess.run(
        ["curl", "-sS", "-x", s.url, "--cacert", str(servers.pki.ca_pem), url],
        capture_output=True, text=True, timeout=15,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr


def test_denied_http_gets_403_with_reason_header(open_session, servers: Servers) -> None:
    s = open_session(Net(allow=("*.example.test", *loopback(servers)), deny=("api.example.test",)))
    result = curl(s, "-i", f"http://api.example.test:{servers.http.port}/x")
    assert refused(result)
    assert "x-sandgate-reason: denied by rule 'api.example.test'" in result.stdout.lower()
    assert "Sandgate refused this request" in result.stdout
    assert servers.http.paths().count("/x") == 0


def test_denied_https_is_told_why_with_a_403_inside_tls(open_session, servers) -> None:
    """A refused tunnel is intercepted so the client hears why: a failed CONNECT reaches
    most clients as a closed socket (Claude Code's `ERR_SOCKET_CLOSED`)."""
    s = open_session(Net(allow=loopback(servers), deny=("*.example.test",)))
    result = curl(s, "-i", f"https://api.example.test:{servers.https.port}/refused")
    assert refused(result), result.stdout + result.stderr
    assert "x-sandgate-reason: denied by rule '*.example.test'" in result.stdout.lower()
    assert "/refused" not in servers.https.paths()
    s.wait_events(1)
    [(event, outcome)] = s.events
    assert event["kind"] == "net.request" and event["url"].endswith("/refused")
    assert outcome.action == "deny" and outcome.rule == "*.example.test"


def test_denied_tunnel_refusing_sandgates_certificate_is_recorded(open_session, servers) -> None:
    s = open_session(Net(allow=loopback(servers), deny=("*.example.test",)))
    # Trusting only the upstream CA: the client will not accept Sandgate's certificate.
    result = subprocess.run(
        ["curl", "-sS", "-x", s.url, "--cacert", str(servers.pki.ca_pem),
         f"https://api.example.test:{servers.https.port}/"],
        capture_output=True, text=True, timeout=15,
    )  # fmt: skip
    assert result.returncode != 0
    s.wait_events(1)
    [(event, outcome)] = s.events
    assert event["kind"] == "net.connect" and outcome.action == "deny"
    assert "denied by rule '*.example.test'" in outcome.reason
    s.wait_events(1)
    assert s.events[0][0]["kind"] == "net.connect"
    assert s.outcomes()[0].rule == "*.example.test"


# --- 10: wildcards and ports ---------------------------------------------------------------


def test_wildcard_matches_subdomains_only_and_port_rules_match_one_port(
    open_session, servers: Servers
) -> None:
    rules = ("*.example.test", f"outside.test:{servers.https.port}", *loopback(servers))
    s = open_session(Net(allow=rules), ask=lambda e: _deny("test: unknown"))
    ok = curl(s, f"https://deep.api.example.test:{servers.https.port}/w")
    assert ok.returncode == 0, ok.stderr
    bare = curl(s, "-i", f"http://example.test:{servers.http.port}/w")
    evil = curl(s, "-i", f"http://evilexample.test:{servers.http.port}/w")
    port_ok = curl(s, f"https://outside.test:{servers.https.port}/p")
    port_other = curl(s, "-i", f"http://outside.test:{servers.http.port}/p")
    assert refused(bare) and "test: unknown" in bare.stdout
    assert refused(evil)
    assert port_ok.returncode == 0, port_ok.stderr
    assert refused(port_other)


# --- 11: names that resolve to special addresses ---------------------------------------


@pytest.mark.parametrize(
    "address,kind",
    [
        ("127.0.0.1", "loopback"),
        ("10.1.2.3", "private"),
        ("169.254.169.254", "cloud metadata"),
        ("192.168.1.1", "private"),
        ("::1", "loopback"),
    ],
)
def test_allowed_name_resolving_to_special_address_is_refused(
    open_session, address: str, kind: str
) -> None:
    s = open_session(Net(allow=("sneaky.test",), resolve={"sneaky.test": address}))
    result = curl(s, "-i", "http://sneaky.test/")
    assert refused(result)
    assert f"a {kind} address; only an address rule can allow it" in result.stdout


def test_address_rule_lifts_the_refusal(open_session, servers: Servers) -> None:
    s = open_session(Net(allow=("sneaky.test", f"127.0.0.1:{servers.http.port}")))
    assert curl(s, f"http://sneaky.test:{servers.http.port}/ok").returncode == 0
    # the address rule names one port: another port on loopback stays refused
    other = curl(s, "-i", f"http://sneaky.test:{servers.https.port}/")
    assert refused(other)


def test_literal_metadata_address_is_refused(open_session) -> None:
    s = open_session(Net(allow=("*",)))
    result = curl(s, "-i", "http://169.254.169.254/latest/meta-data/")
    assert "cloud metadata" in result.stdout


# --- 12: unknown destinations wait for a decision --------------------------------------


def _deny(reason: str):
    from sandbox.proxy.session import Answer

    return _resolved(Answer(False, "test", reason))


async def _resolved(value):
    return value


def _decide_when_waiting(
    engine, decision: str, scope: str = "once", delay: float = 0.2, host: str = "outside.test"
):
    """Decide the pending batch for `host` once it appears (the engine's queue is shared:
    a batch an earlier test left waiting must not be the one decided)."""

    def mine() -> list[dict]:
        return [b for b in engine.pending() if host in b["signature"]]

    def run() -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if mine():
                time.sleep(delay)
                engine.decide(mine()[0]["batch"], decision, scope)
                return
            time.sleep(0.02)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_unknown_destination_waits_then_allowed(open_session, engine, servers) -> None:
    s = open_session(Net(allow=loopback(servers), ask_timeout=10))
    decider = _decide_when_waiting(engine, "allow")
    started = time.monotonic()
    result = curl(s, f"https://outside.test:{servers.https.port}/asked")
    decider.join()
    assert result.returncode == 0, result.stderr
    assert time.monotonic() - started >= 0.2  # it waited for the decision
    assert servers.https.paths()[-1] == "/asked"
    (event, outcome) = s.events[-1]
    assert event["kind"] == "net.request" and event["method"] == "GET"
    assert outcome.by == "person" and outcome.action == "allow"


def test_unknown_destination_denied_by_person(open_session, engine, servers) -> None:
    s = open_session(Net(allow=loopback(servers), ask_timeout=10))
    decider = _decide_when_waiting(engine, "deny")
    result = curl(s, "-i", f"http://outside.test:{servers.http.port}/no")
    decider.join()
    assert refused(result)
    assert "/no" not in servers.http.paths()


def test_unanswered_request_is_denied_after_timeout_and_stays_listed(
    open_session, engine, servers
) -> None:
    s = open_session(Net(allow=loopback(servers), ask_timeout=0.5))
    result = curl(s, "-i", f"http://unknown.test:{servers.http.port}/late")
    assert refused(result)
    assert "a timeout is not consent" in result.stdout
    assert s.outcomes()[-1].by == "timeout"
    listed = [b for b in engine.queue.listing() if "unknown.test" in b["signature"]]
    assert listed and listed[0]["state"] == "expired"


def test_session_scope_decision_is_remembered(open_session, engine, servers) -> None:
    s = open_session(Net(allow=loopback(servers), ask_timeout=10))
    decider = _decide_when_waiting(engine, "allow", scope="session")
    assert curl(s, f"http://outside.test:{servers.http.port}/first").returncode == 0
    decider.join()
    assert curl(s, f"http://outside.test:{servers.http.port}/second").returncode == 0
    assert s.outcomes()[-1].by == "remembered"


def test_held_requests_of_one_batch_are_released_together(open_session, engine, servers) -> None:
    s = open_session(Net(allow=loopback(servers), ask_timeout=10))
    results: list[subprocess.CompletedProcess[str]] = []
    clients = [
        threading.Thread(
            target=lambda i=i: results.append(
                curl(s, f"http://outside.test:{servers.http.port}/together/{i}")
            )
        )
        for i in range(3)
    ]
    for c in clients:
        c.start()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        pending = [b for b in engine.queue.listing() if b["state"] == "pending"]
        if pending and sum(m["waiting"] for m in pending[0]["members"]) == 3:
            break
        time.sleep(0.02)
    assert engine.decide(pending[0]["batch"], "allow") == 3
    for c in clients:
        c.join()
    assert all(r.returncode == 0 for r in results)


# --- 13: canaries ------------------------------------------------------------------------

CANARY = "sgc0123456789abcdef0123456789abcdef"


@pytest.mark.parametrize(
    "how",
    ["url", "header", "body", "base64-body", "urlencoded-body", "json-base64"],
)
def test_canary_in_request_is_refused_and_critical(open_session, servers, how: str) -> None:
    s = open_session(Net(allow=("api.example.test", *loopback(servers))), canaries=(CANARY,))
    url = f"http://api.example.test:{servers.http.port}/c"
    secret = f"[default]\naws_access_key_id = AKIAEXAMPLE\n# {CANARY}\n"
    args = {
        "url": [url + "?leak=" + CANARY],
        "header": ["-H", f"X-Trace: {CANARY}", url],
        "body": ["--data-binary", secret, url],
        "base64-body": ["--data-binary", base64.b64encode(secret.encode()).decode(), url],
        "urlencoded-body": ["--data-urlencode", f"f={secret}", url],
        "json-base64": [
            "--data-binary",
            json.dumps({"x": base64.b64encode(("zz" + secret).encode()).decode()}),
            url,
        ],
    }[how]
    result = curl(s, "-i", *args)
    assert refused(result)
    assert "canary" in result.stdout
    assert not [p for p in servers.http.paths() if p.startswith("/c")]
    assert s.outcomes()[-1].critical and s.outcomes()[-1].by == "canary"


def test_canary_inside_https_to_unknown_destination_is_refused(open_session, servers) -> None:
    s = open_session(Net(allow=loopback(servers)), canaries=(CANARY,))
    result = curl(s, "-i", "--data-binary", CANARY, f"https://outside.test:{servers.https.port}/")
    assert refused(result)
    assert servers.https.seen == [] or all(x.body != CANARY.encode() for x in servers.https.seen)


# --- 14: bound credentials -------------------------------------------------------------


def _binding(secret: str | None = "sk-ant-api03-REALSECRETREALSECRETREALSECRET") -> SecretBinding:
    return SecretBinding("anthropic", "api.example.test", "x-api-key", "ANTHROPIC_API_KEY", secret)


def test_placeholder_is_swapped_for_the_real_secret(open_session, servers: Servers) -> None:
    binding = _binding()
    s = open_session(Net(allow=loopback(servers)), credentials=(binding,))
    placeholder = s.plan.env["ANTHROPIC_API_KEY"]
    assert placeholder == binding.placeholder and binding.secret not in json.dumps(s.plan.env)
    url = f"https://api.example.test:{servers.https.port}/v1/messages"
    result = curl(s, "-H", f"x-api-key: {placeholder}", "--data-binary", '{"q": 1}', url)
    assert result.returncode == 0, result.stderr
    seen = servers.https.seen[-1]
    assert seen.headers["x-api-key"] == binding.secret
    # what the service records carries the placeholder, never the secret
    assert binding.secret not in json.dumps([e for e, _ in s.events])


@pytest.mark.parametrize(
    "extra",
    [
        ["-H", "x-api-key: sk-ant-api03-ATTACKERATTACKERATTACKERATTACKER"],
        ["-H", "x-api-key: {p}", "-H", "Authorization: Bearer attacker-token-123"],
        [
            "-H",
            "x-api-key: {p}",
            "--data-binary",
            '{"api_key": "sk-ant-api03-ATTACKERKEY00000000"}',
        ],
        ["-H", "x-api-key: {p}", "--data-binary", "token=attackertoken123"],
        ["-H", "x-api-key: {p}", "QUERY"],
        [],
    ],
    ids=["foreign-header", "authorization", "json-body", "form-body", "query", "missing"],
)
def test_other_credentials_on_bound_domain_are_refused_and_critical(
    open_session, servers: Servers, extra: list[str]
) -> None:
    s = open_session(Net(allow=loopback(servers)), credentials=(_binding(),))
    placeholder = s.plan.env["ANTHROPIC_API_KEY"]
    url = f"https://api.example.test:{servers.https.port}/v1/files"
    args = [a.replace("{p}", placeholder) for a in extra if a != "QUERY"]
    if "QUERY" in extra:
        url += "?access_token=attacker-token-123"
    before = len(servers.https.seen)
    result = curl(s, "-i", *args, url)
    assert refused(result), result.stdout + result.stderr
    assert len(servers.https.seen) == before
    assert s.outcomes()[-1].by == "credential"
    assert s.outcomes()[-1].critical == (extra != [])


def test_a_session_id_header_is_not_a_credential(open_session, servers: Servers) -> None:
    """Claude Code sends `X-Claude-Code-Session-Id` on every request: it passes, while a
    real key in an innocently named header is still refused as critical."""
    s = open_session(Net(allow=loopback(servers)), credentials=(_binding(),))
    placeholder = s.plan.env["ANTHROPIC_API_KEY"]
    url = f"https://api.example.test:{servers.https.port}/v1/messages"
    session_id = "X-Claude-Code-Session-Id: 5f0c2a8e-0d6b-4c57-9b39-3f1c8a7d9e21"
    ok = curl(s, "-H", f"x-api-key: {placeholder}", "-H", session_id, url)
    assert ok.returncode == 0 and "hello from" in ok.stdout, ok.stdout + ok.stderr
    assert servers.https.seen[-1].headers["x-claude-code-session-id"].startswith("5f0c2a8e")
    before = len(servers.https.seen)
    hidden = "X-Trace: sk-ant-api03-ATTACKERATTACKERATTACKERATTACKER"
    bad = curl(s, "-i", "-H", f"x-api-key: {placeholder}", "-H", session_id, "-H", hidden, url)
    assert refused(bad), bad.stdout + bad.stderr
    assert len(servers.https.seen) == before
    assert s.outcomes()[-1].critical and "x-trace" in s.outcomes()[-1].reason.lower()


def test_bound_domain_without_a_stored_secret_is_refused(open_session, servers) -> None:
    s = open_session(Net(allow=loopback(servers)), credentials=(_binding(None),))
    url = f"https://api.example.test:{servers.https.port}/"
    result = curl(s, "-i", "-H", f"x-api-key: {s.plan.env['ANTHROPIC_API_KEY']}", url)
    assert refused(result)
    assert "credential add" in result.stdout


# --- other real clients ----------------------------------------------------------------


def test_python_urllib_through_proxy(open_session, servers: Servers) -> None:
    s = open_session(
        Net(allow=("api.example.test", *loopback(servers)), deny=("evilexample.test",))
    )
    handler = urllib.request.ProxyHandler({"http": s.url, "https": s.url})
    import ssl

    ctx = ssl.create_default_context(cafile=str(s.bundle))
    opener = urllib.request.build_opener(handler, urllib.request.HTTPSHandler(context=ctx))
    with opener.open(f"https://api.example.test:{servers.https.port}/urllib", timeout=10) as r:
        assert r.read() == f"hello from api.example.test:{servers.https.port} /urllib\n".encode()
    with pytest.raises(urllib.error.HTTPError) as denied:
        opener.open(f"http://evilexample.test:{servers.http.port}/", timeout=10)
    assert denied.value.code == 403
    assert (
        "Sandgate" in denied.value.headers["X-Sandgate-Reason"]
        or denied.value.headers["X-Sandgate-Reason"]
    )


@pytest.mark.skipif(not have("git"), reason="git is not installed")
def test_git_clone_over_https(open_session, servers: Servers, tmp_path: Path) -> None:
    serve_git_repository(servers, tmp_path, "README", "through the proxy\n")
    s = open_session(Net(allow=("api.example.test", *loopback(servers))))
    out = tmp_path / "clone"
    result = subprocess.run(
        ["git", "clone", "-q", f"https://api.example.test:{servers.https.port}/repo.git", str(out)],
        env={**s.env(), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "GIT_TERMINAL_PROMPT": "0"},
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert (out / "README").read_text() == "through the proxy\n"


NODE_CLIENT = Path(__file__).with_name("node_client.js")


@pytest.mark.skipif(not have("node"), reason="node is not installed")
def test_node_https_through_proxy(open_session, servers: Servers, tmp_path: Path) -> None:
    s = open_session(
        Net(allow=("api.example.test", *loopback(servers)), deny=("evilexample.test",))
    )
    run = ["node", str(NODE_CLIENT), str(s.port)]
    env = {"PATH": "/usr/bin:/bin", "NODE_EXTRA_CA_CERTS": str(s.bundle)}
    ok = subprocess.run(
        [*run, "api.example.test", str(servers.https.port), "/node"],
        env=env, capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert f"hello from api.example.test:{servers.https.port} /node" in ok.stdout, ok.stderr
    denied = subprocess.run(
        [*run, "evilexample.test", str(servers.https.port), "/"],
        env=env, capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert "Sandgate refused this request: denied by rule 'evilexample.test'" in denied.stdout


# --- 20: fail closed ------------------------------------------------------------------


def test_closing_the_session_denies_held_requests_and_removes_the_socket(
    open_session, engine, servers
) -> None:
    s = open_session(Net(allow=loopback(servers), ask_timeout=30))
    result: list[subprocess.CompletedProcess[str]] = []
    client = threading.Thread(
        target=lambda: result.append(curl(s, "-i", f"http://outside.test:{servers.http.port}/held"))
    )
    client.start()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not [
        b for b in engine.queue.listing() if b["state"] == "pending"
    ]:
        time.sleep(0.02)
    engine.call(engine.proxy.close_session(s.id))
    client.join(10)
    assert refused(result[0])
    assert "session ended" in result[0].stdout
    assert not Path(s.plan.host_socket).exists()
    after = curl(s, f"http://api.example.test:{servers.http.port}/")
    assert after.returncode != 0  # the relay has nothing to reach
    assert "/held" not in servers.http.paths()


def test_connection_not_on_a_session_socket_has_nowhere_to_go(engine, servers) -> None:
    # mitmproxy listens on no TCP port: the only ways in are the session sockets.
    assert engine.proxy._master is not None
    assert list(engine.proxy._proxyserver.servers) == []


def test_session_socket_is_private(open_session) -> None:
    s = open_session(relay=False)
    sock = Path(s.plan.host_socket)
    assert sock.stat().st_mode & 0o777 == 0o600
    assert sock.parent.stat().st_mode & 0o777 == 0o700


def test_ca_key_is_private_and_bundle_holds_our_ca(engine) -> None:
    key = engine.proxy.ca_dir / "mitmproxy-ca.pem"
    assert key.stat().st_mode & 0o777 == 0o600
    assert engine.proxy.ca_dir.stat().st_mode & 0o777 == 0o700
    bundle = engine.proxy.ca_bundle.read_text()
    ours = (engine.proxy.ca_dir / "mitmproxy-ca-cert.pem").read_text()
    assert ours.strip() in bundle and "PRIVATE KEY" not in bundle


def test_urlencoded_canary_in_query(open_session, servers) -> None:
    s = open_session(Net(allow=("api.example.test", *loopback(servers))), canaries=(CANARY,))
    q = urllib.parse.quote("x=" + CANARY + "&y=1")
    result = curl(s, "-i", f"http://api.example.test:{servers.http.port}/q?d={q}")
    assert refused(result)


def test_canary_inside_a_gzip_body_is_refused(open_session, servers, tmp_path: Path) -> None:
    import gzip

    s = open_session(Net(allow=("api.example.test", *loopback(servers))), canaries=(CANARY,))
    body = tmp_path / "body.gz"
    body.write_bytes(gzip.compress(f"secret: {CANARY}\n".encode()))
    result = curl(
        s, "-i", "-H", "Content-Encoding: gzip", "--data-binary", f"@{body}",
        f"http://api.example.test:{servers.http.port}/gz",
    )  # fmt: skip
    assert refused(result) and "canary" in result.stdout


def test_upstream_ca_joins_the_session_bundle(open_session, servers: Servers) -> None:
    s = open_session(Net(allow=loopback(servers)))
    bundle = Path(s.plan.ca_bundle).read_text()
    assert servers.pki.ca_pem.read_text().strip() in bundle
    # a plain-HTTP-only client inside trusts the bundle for the allowed tunnel as well
    result = subprocess.run(
        ["curl", "-sS", "-x", s.url, "--cacert", str(s.plan.ca_bundle),
         f"https://127.0.0.1:{servers.https.port}/bundle"],
        capture_output=True, text=True, timeout=15,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr


# --- SOCKS5 on the same port -------------------------------------------------------------


def test_socks5_clients_get_the_same_policy(open_session, servers: Servers) -> None:
    s = open_session(
        Net(allow=("api.example.test", *loopback(servers)), deny=("evilexample.test",))
    )
    socks = ["--proxy", f"socks5h://127.0.0.1:{s.port}"]
    h, t = servers.http.port, servers.https.port

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["curl", "-sS", "--max-time", "10", "--cacert", str(s.bundle), *socks, *args],
            capture_output=True, text=True, timeout=20,
        )  # fmt: skip

    assert run(f"http://api.example.test:{h}/socks").stdout.endswith("/socks\n")
    tls = run(f"https://api.example.test:{t}/socks-tls")
    assert tls.stdout.endswith("/socks-tls\n"), tls.stderr
    denied_plain = run("-i", f"http://evilexample.test:{h}/no")
    denied_tls = run("-i", f"https://evilexample.test:{t}/no")
    assert refused(denied_plain) and refused(denied_tls)
    assert "/no" not in servers.http.paths() + servers.https.paths()
    # the allowed TLS went through untouched: an opaque tunnel, as after CONNECT
    assert [e["kind"] for e, o in s.events if o.action == "allow"] == ["net.request", "net.connect"]


def test_client_refusing_sandgate_ca_is_recorded(open_session, servers: Servers) -> None:
    s = open_session(Net(allow=loopback(servers)))
    result = subprocess.run(
        ["curl", "-sS", "-x", s.url, "--cacert", str(servers.pki.ca_pem),
         f"https://outside.test:{servers.https.port}/pinned"],
        capture_output=True, text=True, timeout=15,
    )  # fmt: skip
    assert result.returncode != 0
    s.wait_events(1)
    [(event, outcome)] = s.events
    assert event["kind"] == "net.connect" and "refused Sandgate's certificate" in outcome.reason
    assert "/pinned" not in servers.https.paths()


def test_upstream_certificates_are_verified(open_session, servers: Servers, tmp_path) -> None:
    """An intercepted request to a server whose CA nobody trusts fails: the proxy never
    talks to an unverified upstream on the agent's behalf."""
    import ssl

    from tests.proxy.conftest import RecordingServer, make_pki

    rogue_pki = make_pki(tmp_path / "rogue")
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(rogue_pki.cert_pem, rogue_pki.key_pem)
    rogue = RecordingServer(tls)
    threading.Thread(target=rogue.serve_forever, daemon=True).start()
    try:
        binding = _binding()
        s = open_session(Net(allow=(f"127.0.0.1:{rogue.port}",)), credentials=(binding,))
        result = curl(
            s, "-i", "-H", f"x-api-key: {binding.placeholder}",
            f"https://api.example.test:{rogue.port}/rogue",
        )  # fmt: skip
        assert status(result).split(" ")[1:2] == ["502"], result.stdout + result.stderr
        assert "certificate verify failed" in result.stdout.lower()
        assert rogue.seen == []  # the real secret never reached it
    finally:
        rogue.shutdown()
        rogue.server_close()


def test_denied_server_first_tunnel_fails_its_connect_with_the_reason(open_session) -> None:
    """ssh (and other protocols where the server speaks first) through CONNECT: the
    client would wait forever inside an intercepted tunnel, so its CONNECT fails."""
    import socket

    s = open_session(Net(deny=("evilexample.test",)))
    with socket.create_connection(("127.0.0.1", s.port), timeout=10) as conn:
        conn.sendall(b"CONNECT evilexample.test:22 HTTP/1.1\r\nHost: evilexample.test:22\r\n\r\n")
        answer = conn.recv(4096).decode(errors="replace")
    assert answer.startswith("HTTP/1.1 403 Sandgate: denied by rule 'evilexample.test'"), answer
    s.wait_events(1)
    assert [(e["kind"], o.action) for e, o in s.events] == [("net.connect", "deny")]
