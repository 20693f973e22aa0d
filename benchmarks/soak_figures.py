"""The soak's figures: how its agents' requests ended, how long each kind took, and the
mixed half set against the plain-HTTP baseline (see `bench_soak.py`)."""

from __future__ import annotations

import statistics
from collections import Counter


def answered(outcomes: Counter[str], half: str) -> int:
    """Requests of `half` the proxy answered with a status (malformed clients aside)."""
    return sum(
        count
        for key, count in outcomes.items()
        if key.startswith(half + " ") and not key.endswith(" 000") and "malformed" not in key
    )


def compare(phases: dict[str, tuple[float, float, int]], times: dict[str, list[float]]) -> None:
    """The mixed second half against the baseline run on the same service just before."""
    if "baseline" not in phases or "second half" not in phases:
        return
    print("\nthe mixed second half against the plain-HTTP baseline (same service, same size):")
    base_s, base_rss, base_n = phases["baseline"]
    mix_s, mix_rss, mix_n = phases["second half"]
    base_rate, mix_rate = base_n / base_s, mix_n / mix_s
    print(f"  request rate        baseline {base_rate:8.1f}/s   mixed {mix_rate:8.1f}/s   "
          f"ratio {mix_rate / base_rate:5.2f}")  # fmt: skip
    ratio = mix_rss / base_rss if base_rss > 0 else float("nan")
    print(f"  RSS growth          baseline {base_rss:+8.1f} MiB  mixed {mix_rss:+8.1f} MiB  "
          f"ratio {ratio:5.2f}   ({base_n} and {mix_n} requests)")  # fmt: skip
    reference = times.get("baseline allowed 200")
    if not reference:
        return
    ref = statistics.median(reference)
    plain = statistics.median(times.get("second half allowed 200") or reference)
    print(f"  median time per request, by kind: ratio to the baseline's {ref * 1000:.1f} ms, "
          f"and to plain allowed HTTP in the same half, {plain * 1000:.1f} ms:")  # fmt: skip
    for key in sorted(k for k in times if k.startswith("second half")):
        median = statistics.median(times[key])
        print(f"    {key:36} {median * 1000:8.1f} ms  {median / ref:6.2f}x  "
              f"{median / plain:6.2f}x  ({len(times[key])})")  # fmt: skip


def tally(output: str, half: str, times: dict[str, list[float]]) -> Counter[str]:
    counts: Counter[str] = Counter()
    for line in output.splitlines():
        kind, _, rest = line.partition(" ")
        status, _, seconds = rest.strip().partition(" ")
        key = f"{half} {kind} {status or '000'}"
        counts[key] += 1
        if status.isdigit() and seconds.replace(".", "", 1).isdigit():
            times[key].append(float(seconds))
    return counts
