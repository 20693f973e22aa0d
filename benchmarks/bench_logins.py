"""What the agent's own login costs the proxy per request, against the canary scan.

Every request that is not to a vendor's endpoint is searched for the session's login
tokens (placeholders and real values, in every encoding the canary scan knows); every
request to a vendor's endpoint has its placeholders swapped. This prints the median
time of each for request bodies of 4 KiB, 64 KiB and 1 MiB, and its ratio to one
canary scan of the same request, measured in the same run.

Target: the login scan under 1 ms for a 64 KiB body with three tokens.

Run: .venv/bin/python benchmarks/bench_logins.py
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sandbox.logins import placeholder_for
from sandbox.proxy.inspect import RequestView, canary_patterns, find_canary
from sandbox.proxy.logins import LoginTokens, VendorLogin


def median_ms(run: object, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def main() -> None:
    reals = [f"sk-ant-{kind}-{os.urandom(30).hex()}" for kind in ("oat01", "ort01", "api03")]
    placeholders = [placeholder_for(r) for r in reals]
    vendor = VendorLogin("anthropic", ("api.anthropic.com", "platform.claude.com"), "x-api-key")
    tokens = LoginTokens.build(
        [vendor], dict(zip(placeholders, reals, strict=True)),
        {p: "anthropic" for p in placeholders},
    )  # fmt: skip
    canary = "sgc" + os.urandom(16).hex()
    canaries = {canary: canary_patterns(canary)}
    headers = [("content-type", "application/json"), ("user-agent", "bench/1")] * 5
    print(f"{'body':>8} {'canary ms':>10} {'login scan ms':>14} {'ratio':>6} {'swap ms':>8}")
    for size in (4 << 10, 64 << 10, 1 << 20):
        body = os.urandom(size // 2).hex().encode()
        view = RequestView("https://outside.example/upload", headers, body)
        repeat = 200 if size < (1 << 20) else 21
        base = median_ms(lambda v=view: find_canary(v, canaries), repeat)
        scan = median_ms(lambda v=view: tokens.stray(v, "outside.example"), repeat)
        carried = body + placeholders[0].encode()
        swap = median_ms(lambda b=carried: tokens.swap_in(b, "anthropic"), repeat)
        print(f"{size >> 10:>6}Ki {base:>10.3f} {scan:>14.3f} {scan / base:>6.1f} {swap:>8.3f}")


if __name__ == "__main__":
    main()
