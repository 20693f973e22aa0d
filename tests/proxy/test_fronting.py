"""An allowed tunnel whose TLS names another host (SNI) is looked into, and decided by
the host the request really asks for."""

from __future__ import annotations

import subprocess

from tests.proxy.conftest import Net, Servers


def test_sni_naming_a_denied_host_inside_an_allowed_tunnel(open_session, servers: Servers) -> None:
    s = open_session(
        Net(
            allow=("api.example.test", f"127.0.0.1:{servers.https.port}"),
            deny=("evilexample.test",),
        )
    )
    port = servers.https.port
    # curl CONNECTs to the allowed name but speaks TLS (SNI, Host) for the denied one.
    result = subprocess.run(
        ["curl", "-sS", "-i", "-x", s.url, "--cacert", str(s.bundle),
         "--connect-to", f"evilexample.test:{port}:api.example.test:{port}",
         f"https://evilexample.test:{port}/fronted"],
        capture_output=True, text=True, timeout=15,
    )  # fmt: skip
    assert "/fronted" not in servers.https.paths(), result.stdout
    assert "Sandgate refused" in result.stdout, result.stdout + result.stderr
