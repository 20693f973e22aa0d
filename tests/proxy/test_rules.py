"""The network rules as tables: (rules, destination, addresses) → action and rule."""

from __future__ import annotations

import ipaddress

import pytest

from sandbox.proxy.rules import RuleError, Rules, parse_rule, resolve_map, special_kind

PUBLIC = "93.184.216.34"


def ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    return ipaddress.ip_address(text)


CASES = [
    # allow, deny, host, port, addresses, action, rule
    (["pypi.org"], [], "pypi.org", 443, [PUBLIC], "allow", "pypi.org"),
    (["pypi.org"], [], "PyPI.org.", 443, [PUBLIC], "allow", "pypi.org"),
    (["pypi.org"], [], "files.pypi.org", 443, [PUBLIC], "ask", None),
    (["*.example.com"], [], "api.example.com", 443, [PUBLIC], "allow", "*.example.com"),
    (["*.example.com"], [], "a.b.example.com", 443, [PUBLIC], "allow", "*.example.com"),
    (["*.example.com"], [], "example.com", 443, [PUBLIC], "ask", None),
    (["*.example.com"], [], "evilexample.com", 443, [PUBLIC], "ask", None),
    (["*.example.com"], [], "example.com.evil.net", 443, [PUBLIC], "ask", None),
    (["registry.npmjs.org:443"], [], "registry.npmjs.org", 443, [PUBLIC], "allow", None),
    (["registry.npmjs.org:443"], [], "registry.npmjs.org", 80, [PUBLIC], "ask", None),
    (["*.github.com"], ["gist.github.com"], "gist.github.com", 443, [PUBLIC], "deny", None),
    (["*"], ["*.pastebin.com"], "x.pastebin.com", 443, [PUBLIC], "deny", "*.pastebin.com"),
    (["*"], [], "anything.net", 443, [PUBLIC], "allow", "*"),
    # special addresses need an address rule, whatever the name rules say
    (["*"], [], "localhost", 80, ["127.0.0.1"], "deny", None),
    (["api.test"], [], "api.test", 8080, ["127.0.0.1"], "deny", None),
    (["api.test", "127.0.0.1:8080"], [], "api.test", 8080, ["127.0.0.1"], "allow", "api.test"),
    (["api.test", "127.0.0.1:8080"], [], "api.test", 8081, ["127.0.0.1"], "deny", None),
    (["127.0.0.1:8080"], [], "other.test", 8080, ["127.0.0.1"], "ask", None),
    (["127.0.0.1:8080"], [], "127.0.0.1", 8080, [], "allow", "127.0.0.1:8080"),
    (["10.0.0.0/8"], [], "10.20.30.40", 22, [], "allow", "10.0.0.0/8"),
    (["10.0.0.0/8"], ["10.9.0.0/16"], "10.9.1.1", 22, [], "deny", "10.9.0.0/16"),
    (["*.corp.test", "10.0.0.0/8"], [], "git.corp.test", 443, ["10.1.1.1"], "allow", None),
    (["*.corp.test"], [], "git.corp.test", 443, ["10.1.1.1", PUBLIC], "deny", None),
    (["*"], [], "169.254.169.254", 80, [], "deny", None),
    (["*"], [], "metadata.test", 80, ["169.254.169.254"], "deny", None),
    (["*"], [], "v6.test", 80, ["::1"], "deny", None),
    (["*"], [], "mapped.test", 80, ["::ffff:127.0.0.1"], "deny", None),
    (["*"], [], "link.test", 80, ["fe80::1"], "deny", None),
    (["*"], [], "ula.test", 80, ["fd00::5"], "deny", None),
    (["*"], [], "cgnat.test", 80, ["100.64.1.1"], "deny", None),
    (["*"], [], "zero.test", 80, ["0.0.0.0"], "deny", None),
    (["[::1]:8080"], [], "::1", 8080, [], "allow", "[::1]:8080"),
    (["pypi.org"], [], PUBLIC, 443, [], "ask", None),  # a name rule never allows an address
    (["pypi.org"], [], "pypi.org", 443, [], "deny", None),  # does not resolve
]


@pytest.mark.parametrize("allow,deny,host,port,addresses,action,rule", CASES)
def test_decide(allow, deny, host, port, addresses, action, rule) -> None:
    decision = Rules.compile(allow, deny).decide(host, port, [ip(a) for a in addresses])
    assert decision.action == action, decision.reason
    if rule is not None:
        assert decision.rule == rule
    assert decision.reason


@pytest.mark.parametrize(
    "text",
    ["", "exa mple.com", "*.com", "ex*ample.com", "pypi.org:0", "pypi.org:70000", "[::1", "a:b:c"],
)
def test_bad_rules_are_refused(text: str) -> None:
    with pytest.raises(RuleError):
        parse_rule(text)


@pytest.mark.parametrize(
    "address,kind",
    [
        ("127.0.0.1", "loopback"),
        ("10.0.0.1", "private"),
        ("172.16.0.1", "private"),
        ("192.168.0.1", "private"),
        ("169.254.169.254", "cloud metadata"),
        ("169.254.1.1", "link-local"),
        ("fd00:ec2::254", "cloud metadata"),
        ("::1", "loopback"),
        ("224.0.0.1", "multicast"),
        (PUBLIC, None),
        ("2606:4700::1111", None),
    ],
)
def test_special_kinds(address: str, kind: str | None) -> None:
    assert special_kind(ip(address)) == kind


def test_resolve_map_normalises_names_and_refuses_non_addresses() -> None:
    assert resolve_map({"API.Test.": "127.0.0.1"}) == {"api.test": ip("127.0.0.1")}
    with pytest.raises(RuleError):
        resolve_map({"api.test": "not-an-address"})
