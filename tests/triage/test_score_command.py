"""`sandgate score`: JSON Lines in order, errors per line, exit status, --rank, determinism."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from rule_cases import FAMILIES, session_events

from app.cli import main as cli_main

ROOT = Path(__file__).resolve().parents[2]


def _mixed_input() -> str:
    lines = []
    for family, cases in FAMILIES.items():
        for n, case in enumerate(cases):
            for event in session_events(case, session=f"{family}-{n}"):
                event = {**event, "id": f"{family}-{n}-{event['id']}"}
                lines.append(json.dumps(event))
    return "\n".join(lines) + "\n"


def _run(tmp_path: Path, text: str, *args: str) -> subprocess.CompletedProcess[bytes]:
    src = tmp_path / "events.jsonl"
    src.write_text(text)
    return subprocess.run(
        [sys.executable, "-m", "app.cli", "score", *args, str(src)],
        cwd=ROOT,
        capture_output=True,
        check=False,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "LC_ALL": "C"},
    )


def test_one_verdict_per_line_in_order(tmp_path: Path) -> None:
    text = _mixed_input()
    result = _run(tmp_path, text)
    assert result.returncode == 0, result.stderr
    ids_in = [json.loads(line)["id"] for line in text.splitlines()]
    out = [json.loads(line) for line in result.stdout.decode().splitlines()]
    assert [v["id"] for v in out] == ids_in
    for verdict in out:
        assert list(verdict) == ["id", "score", "band", "reasons", "signature"]


def test_same_bytes_across_processes(tmp_path: Path) -> None:
    text = _mixed_input()
    first = _run(tmp_path, text)
    second = _run(tmp_path, text)
    assert first.stdout == second.stdout and first.stdout
    ranked = [_run(tmp_path, text, "--rank").stdout for _ in range(2)]
    assert ranked[0] == ranked[1]


def test_bad_lines_do_not_stop_the_run(tmp_path: Path) -> None:
    text = "\n".join(
        [
            '{"id": "a", "session": "s", "kind": "file.read", "path": "/w/x"}',
            "this is not json",
            '{"id": "b", "session": "s", "kind": "teleport"}',
            '{"id": "c", "session": "s", "kind": "file.read"}',
            '{"session": "s", "kind": "file.read", "path": "/x"}',
            "",
            '{"id": "d", "session": "s", "kind": "file.read", "path": "~/.aws/credentials"}',
        ]
    )
    result = _run(tmp_path, text + "\n")
    assert result.returncode == 1
    out = [json.loads(line) for line in result.stdout.decode().splitlines()]
    assert [v["id"] for v in out] == ["a", None, "b", "c", None, "d"]
    assert set(out[1]) == {"id", "error"} and "line 2" in out[1]["error"]
    assert "kind" in out[2]["error"] and "line 3" in out[2]["error"]
    assert "path" in out[3]["error"]
    assert "'id'" in out[4]["error"]
    assert out[5]["band"] == "high"


def test_invalid_utf8_is_a_line_error(tmp_path: Path) -> None:
    src = tmp_path / "bad.jsonl"
    src.write_bytes(
        b'\xff\xfe{"id": 1}\n{"id": "ok", "session": "s", "kind": "exec", "command": "ls"}\n'
    )
    result = subprocess.run(
        [sys.executable, "-m", "app.cli", "score", str(src)],
        cwd=ROOT,
        capture_output=True,
        check=False,
    )
    assert result.returncode == 1
    lines = result.stdout.decode().splitlines()
    assert json.loads(lines[0])["id"] is None and json.loads(lines[1])["id"] == "ok"


def test_stdin_and_rank(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import io

    text = "\n".join(
        [
            '{"id": "1", "session": "s", "kind": "net.request", "method": "GET", "url": "https://pypi.org/simple/"}',
            '{"id": "2", "session": "s", "kind": "file.read", "path": "/home/me/.ssh/id_rsa"}',
            '{"id": "3", "session": "s", "kind": "net.request", "method": "GET", "url": "https://pypi.org/simple/x/"}',
        ]
    )
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(text.encode())))
    assert cli_main(["score", "--rank", "-"]) == 0
    batches = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [b["score"] for b in batches] == sorted((b["score"] for b in batches), reverse=True)
    # one destination is one batch: the GET after the credential read is critical and
    # makes the whole pypi.org batch critical, instead of splitting it in two
    assert [b["ids"] for b in batches] == [["1", "3"], ["2"]]
    assert batches[0]["band"] == "critical"


def test_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["score", str(tmp_path / "nope.jsonl")]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_an_internal_error_stays_on_its_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from triage.engine import Triage

    real = Triage.score_dict

    def flaky(self: Triage, obj: object) -> object:
        if isinstance(obj, dict) and obj.get("id") == "boom":
            raise RuntimeError("rule bug")
        return real(self, obj)

    monkeypatch.setattr(Triage, "score_dict", flaky)
    src = tmp_path / "e.jsonl"
    src.write_text(
        '{"id": "boom", "session": "s", "kind": "exec", "command": "ls"}\n'
        '{"id": "fine", "session": "s", "kind": "exec", "command": "ls"}\n'
    )
    assert cli_main(["score", str(src)]) == 1
    out = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert out[0] == {"id": "boom", "error": "line 1: internal error: RuntimeError: rule bug"}
    assert out[1]["id"] == "fine" and out[1]["band"] == "low"


def test_hostile_lines_are_line_errors_and_the_run_goes_on(tmp_path: Path) -> None:
    text = "\n".join(
        [
            "[" * 100_000 + "]" * 100_000,
            '{"id": "a", "session": "s", "kind": "file.read", "path": "/w/x"}',
            '{"id": "b", "session": "s", "kind": "net.connect", "host": "x", "port": '
            + "9" * 5000
            + "}",
            '{"id": "c", "session": "s", "kind": "file.read", "path": "/w/y"}',
        ]
    )
    result = _run(tmp_path, text + "\n")
    assert result.returncode == 1
    assert b"Traceback" not in result.stderr, result.stderr
    out = [json.loads(line) for line in result.stdout.decode().splitlines()]
    assert [v["id"] for v in out] == [None, "a", None, "c"]
    assert out[0]["error"] == "line 1: JSON nested more than 100 levels deep"
    assert out[2]["error"] == "line 3: a number of 5000 digits (at most 64)"


def test_a_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    src = tmp_path / "events.jsonl"
    src.write_text(_mixed_input() * 20)  # more than a pipe's buffer of verdicts
    for args in ([], ["--rank"]):
        score = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "score", *args, str(src)],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip
        assert score.stdout is not None
        score.stdout.readline()
        score.stdout.close()  # what `| head -1` does
        _, err = score.communicate(timeout=60)
        assert err == b"", err.decode()
        assert score.returncode == 141
