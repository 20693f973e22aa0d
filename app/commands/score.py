"""`sandgate score [FILE|-] [--rank]`: score JSON Lines events, print verdicts.

One verdict per input line, in input order, as JSON Lines (see docs/events.md).
A bad line gives `{"id": ..., "error": "line N: ..."}` and the run goes on; the exit
status is then 1 (2 when the input cannot be opened at all).

With `--rank`, the error lines come first, then one line per batch, highest score
first (ties keep input order):
`{"signature": "net.request evil.example.net", "band": "critical",
"score": 100, "count": 2, "ids": ["e7", "e9"], "rules": ["egress.canary", ...]}`.
Signatures are described in triage/batches.py.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from typing import IO, Any


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "file", nargs="?", default="-", help="JSON Lines events to score ('-' or none: stdin)"
    )
    parser.add_argument(
        "--rank", action="store_true", help="print batches of similar verdicts, highest first"
    )


def _lines(stream: IO[bytes]) -> Iterator[tuple[int, bytes]]:
    for number, line in enumerate(stream, start=1):
        if line.strip():
            yield number, line


def _dump(obj: dict[str, Any]) -> str:
    # ASCII-only output: identical bytes whatever the terminal's encoding.
    return json.dumps(obj)


def main(args: argparse.Namespace) -> int:
    """Score every event of the input; exit 1 when any line was not a valid event."""
    try:
        return _score(args)
    except BrokenPipeError:  # `sandgate score … | head`
        from app.commands.pipes import reader_gone

        return reader_gone()


def _score(args: argparse.Namespace) -> int:
    from resources import resources_dir
    from triage.batches import group
    from triage.catalogues import load_catalogues
    from triage.engine import Triage
    from triage.events import EventError, decode_line
    from triage.verdict import Verdict

    triage = Triage(load_catalogues(resources_dir() / "catalogues"))
    try:
        stream: IO[bytes] = sys.stdin.buffer if args.file == "-" else open(args.file, "rb")  # noqa: SIM115
    except OSError as exc:
        print(f"sandgate score: cannot read {args.file}: {exc.strerror}", file=sys.stderr)
        return 2
    out = sys.stdout
    failed = False
    verdicts: list[Verdict] = []
    with stream:
        for number, line in _lines(stream):
            try:
                obj = decode_line(line)
            except EventError as exc:
                verdict = Verdict.failed(None, f"line {number}: {exc}")
            else:
                try:
                    verdict = triage.score_dict(obj)
                except Exception as exc:  # a bug must not end the run; report it on its line
                    event_id = obj.get("id") if isinstance(obj, dict) else None
                    verdict = Verdict.failed(
                        event_id if isinstance(event_id, str) else None,
                        f"internal error: {type(exc).__name__}: {exc}",
                    )
                if verdict.error is not None:
                    verdict = Verdict.failed(verdict.id, f"line {number}: {verdict.error}")
            failed = failed or verdict.error is not None
            if args.rank:
                verdicts.append(verdict)
            else:
                out.write(_dump(verdict.to_dict()) + "\n")
    if args.rank:
        for verdict in verdicts:
            if verdict.error is not None:
                out.write(_dump(verdict.to_dict()) + "\n")
        for batch in group(verdicts):
            out.write(_dump(batch.to_dict()) + "\n")
    out.flush()
    return 1 if failed else 0
