"""Starting the proxy engine leaves Sandgate's own log lines audible: mitmproxy's Master
must not take over the root logger (it swallowed every later warning and error)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

PROBE = """
import asyncio, logging, sys
from pathlib import Path
from sandbox.proxy.engine import EgressProxy

async def main():
    folder = Path(sys.argv[1])
    proxy = EgressProxy(folder / "data", folder / "run")
    await proxy.start()
    logging.getLogger("app.service.egress").error("recording a decision failed: probe")
    await proxy.stop()

asyncio.run(main())
"""


def test_sandgate_errors_are_still_printed_after_the_proxy_starts(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "recording a decision failed: probe" in result.stderr
