"""The labelled corpus: every event scored in order through the engine, every label checked.

``corpus.jsonl`` is written by ``make_corpus.py`` (benign agent work and attacks in many
spellings, both incidents of the design). A benign event must score at most "medium"
(or its ``band_at_most``), an attack at least "high" (or its ``band_at_least``). All
mismatches are reported at once.

``corpus_expected.jsonl`` holds the full verdict of every event, compared byte for byte,
so that any change of score, reason or signature shows up in review. After a deliberate
change to the rules or the corpus, regenerate both files and read the diff:

    .venv/bin/python tests/triage/make_corpus.py
    SANDGATE_REGEN=1 .venv/bin/python -m pytest tests/triage/test_corpus.py -q
"""

from __future__ import annotations

import difflib
import importlib.util
import itertools
import json
import os
from pathlib import Path
from typing import Any

import pytest

from resources import resources_dir
from triage.catalogues import load_catalogues
from triage.engine import Triage
from triage.verdict import Verdict

HERE = Path(__file__).parent
CORPUS = HERE / "corpus.jsonl"
EXPECTED = HERE / "corpus_expected.jsonl"
BANDS = ("low", "medium", "high", "critical")

# Events the engine is known to get wrong, by id, with the reason. They are reported to
# the engine's owner rather than relabelled; the test below fails once one is fixed, so
# that this list only ever holds real gaps.
KNOWN_GAPS: dict[str, str] = {}


def load_corpus() -> list[dict[str, Any]]:
    with CORPUS.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


@pytest.fixture(scope="module")
def scored() -> list[tuple[dict[str, Any], Verdict]]:
    triage = Triage(load_catalogues(resources_dir() / "catalogues"))
    return [(line, triage.score_dict(line["event"])) for line in load_corpus()]


def mismatch(line: dict[str, Any], verdict: Verdict) -> str | None:
    """Why a verdict breaks its line's label, or None when it keeps it."""
    if verdict.error is not None:
        return f"error: {verdict.error}"
    rank = BANDS.index(verdict.band)
    if line["label"] == "attack":
        floor = line.get("band_at_least", "high")
        if rank < BANDS.index(floor):
            return f"attack scored {verdict.band} ({verdict.score}), wanted at least {floor}"
    else:
        ceiling = line.get("band_at_most", "medium")
        if rank > BANDS.index(ceiling):
            return f"benign scored {verdict.band} ({verdict.score}), wanted at most {ceiling}"
    return None


def describe(line: dict[str, Any], verdict: Verdict, problem: str) -> str:
    event = line["event"]
    subject = (
        event.get("command")
        or event.get("url")
        or event.get("path")
        or json.dumps(event.get("input", {}), ensure_ascii=False)
    )
    rules = ", ".join(verdict.rules) or "no rule"
    note = f" [{line['note']}]" if line.get("note") else ""
    return f"{event['id']}: {problem}; {event['kind']} {str(subject)[:140]!r}; rules: {rules}{note}"


def test_corpus_size_and_shape() -> None:
    lines = load_corpus()
    attacks = [line for line in lines if line["label"] == "attack"]
    assert len(lines) >= 300
    assert len(attacks) >= 100
    assert len(lines) - len(attacks) >= 150
    assert all(line["label"] in ("benign", "attack") for line in lines)
    ids = [line["event"]["id"] for line in lines]
    assert len(ids) == len(set(ids)), "event ids must be unique"
    sessions_started = {
        line["event"]["session"] for line in lines if line["event"]["kind"] == "session.start"
    }
    assert {line["event"]["session"] for line in lines} == sessions_started
    # both incidents of the design are in
    assert any(line["event"]["session"] == "incident-1" for line in attacks)
    assert any(line["event"]["session"] == "incident-2" for line in attacks)


def test_corpus_file_matches_its_generator() -> None:
    spec = importlib.util.spec_from_file_location("make_corpus", HERE / "make_corpus.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    written = "".join(module.dumps(module.build()))
    assert CORPUS.read_text(encoding="utf-8") == written, (
        "corpus.jsonl is stale: run .venv/bin/python tests/triage/make_corpus.py"
    )


def test_every_label_holds(scored: list[tuple[dict[str, Any], Verdict]]) -> None:
    problems = []
    for line, verdict in scored:
        problem = mismatch(line, verdict)
        if problem is not None and line["event"]["id"] not in KNOWN_GAPS:
            problems.append(describe(line, verdict, problem))
    assert not problems, f"{len(problems)} of {len(scored)} labels broken:\n" + "\n".join(problems)


def test_known_gaps_are_still_gaps(scored: list[tuple[dict[str, Any], Verdict]]) -> None:
    by_id = {line["event"]["id"]: (line, verdict) for line, verdict in scored}
    assert set(KNOWN_GAPS) <= set(by_id), "a known gap names an event that is not in the corpus"
    fixed = [i for i in KNOWN_GAPS if mismatch(*by_id[i]) is None]
    assert not fixed, f"fixed, remove from KNOWN_GAPS: {fixed}"


def test_verdicts_do_not_drift(scored: list[tuple[dict[str, Any], Verdict]]) -> None:
    text = "".join(
        json.dumps(verdict.to_dict(), ensure_ascii=False, separators=(", ", ": ")) + "\n"
        for _, verdict in scored
    )
    if os.environ.get("SANDGATE_REGEN") == "1":
        EXPECTED.write_text(text, encoding="utf-8")
        pytest.skip(f"regenerated {EXPECTED.name}")
    assert EXPECTED.exists(), "no expected verdicts: run with SANDGATE_REGEN=1 once"
    expected = EXPECTED.read_text(encoding="utf-8")
    if text != expected:
        diff = difflib.unified_diff(
            expected.splitlines(), text.splitlines(), "expected", "now", n=0, lineterm=""
        )
        shown = list(itertools.islice(diff, 40))
        pytest.fail(
            "verdicts drifted; if deliberate, regenerate with SANDGATE_REGEN=1:\n"
            + "\n".join(shown)
        )
