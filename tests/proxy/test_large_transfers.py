"""Large transfers through the proxy: bodies span many of mitmproxy's reads (the engine
reads up to `READ_SIZE` at a time), arrive whole, and requests are still judged whole."""

from __future__ import annotations

import platform
import sys
from pathlib import Path

from sandbox.proxy.addon import PolicyAddon
from sandbox.proxy.allocator import tune_allocator
from sandbox.proxy.connection_io import READ_SIZE
from tests.proxy.conftest import Net, Servers, curl

CANARY = "sgc0123456789abcdef0123456789abcdef"
SIZE = 8 * READ_SIZE + 12345  # not a multiple of any read size


def _allow(servers: Servers) -> Net:
    return Net(
        allow=(
            "api.example.test",
            f"127.0.0.1:{servers.http.port}",
            f"127.0.0.1:{servers.https.port}",
        )
    )


def test_large_downloads_arrive_whole(open_session, servers: Servers, tmp_path: Path) -> None:
    s = open_session(_allow(servers))
    for scheme, port in (("http", servers.http.port), ("https", servers.https.port)):
        out = tmp_path / f"{scheme}.bin"
        result = curl(s, "-o", str(out), f"{scheme}://api.example.test:{port}/big/{SIZE}")
        assert result.returncode == 0, result.stderr
        assert out.read_bytes() == b"x" * SIZE


def test_large_request_body_is_judged_whole(open_session, servers: Servers, tmp_path: Path) -> None:
    """A canary at the very end of a body many reads long is still found, and nothing of
    the request reaches the server; the same body without it arrives intact."""
    s = open_session(_allow(servers), canaries=(CANARY,))
    url = f"http://api.example.test:{servers.http.port}/upload"
    clean = tmp_path / "clean.bin"
    clean.write_bytes(b"y" * SIZE)
    leaky = tmp_path / "leaky.bin"
    leaky.write_bytes(b"y" * SIZE + CANARY.encode())
    result = curl(s, "-i", "--data-binary", f"@{leaky}", url)
    statuses = [line for line in result.stdout.splitlines() if line.startswith("HTTP/")]
    assert statuses[-1].split(" ")[1] == "403" and "canary" in result.stdout
    assert "/upload" not in servers.http.paths()
    result = curl(s, "--data-binary", f"@{clean}", url)
    assert result.returncode == 0, result.stderr
    assert [x.body for x in servers.http.seen if x.path == "/upload"] == [b"y" * SIZE]


def test_allocator_thresholds_are_set_on_glibc() -> None:
    """Streaming buffers stay on the heap (see allocator.tune_allocator); safe to repeat."""
    expected = sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"
    assert tune_allocator() is expected
    assert tune_allocator() is expected


def test_no_policy_hook_runs_per_chunk() -> None:
    """Streamed bodies and passed-through tunnels reach no Sandgate code per chunk: the
    addon has none of mitmproxy's per-message hooks (measured: a 256 MB download calls
    each hook once per request or connection)."""
    per_chunk = ("tcp_message", "udp_message", "websocket_message", "dns_request")
    assert [h for h in per_chunk if hasattr(PolicyAddon, h)] == []
