"""Table tests, one per rule family: every positive beside its near miss."""

from __future__ import annotations

import pytest
from rule_cases import FAMILIES, Case, session_events

from triage.engine import Triage


def _judge(engine: Triage, case: Case):  # type: ignore[no-untyped-def]
    verdicts = [engine.score_dict(e) for e in session_events(case)]
    for v in verdicts:
        assert v.error is None, v.error
    return verdicts[-1]


def _params(family: str) -> list[object]:
    return [pytest.param(case, id=case.name) for case in FAMILIES[family]]


def _check(engine: Triage, case: Case) -> None:
    verdict = _judge(engine, case)
    fired = set(verdict.rules)
    assert set(case.fires) <= fired, f"expected {case.fires}, got {verdict.to_dict()}"
    assert not set(case.quiet) & fired, f"{case.quiet} must stay quiet: {verdict.to_dict()}"
    if case.band is not None:
        assert verdict.band == case.band, verdict.to_dict()
    for reason in verdict.reasons:
        assert reason.why and reason.points > 0


@pytest.mark.parametrize("case", _params("cred"))
def test_cred(engine: Triage, case: Case) -> None:
    _check(engine, case)


@pytest.mark.parametrize("case", _params("file"))
def test_file(engine: Triage, case: Case) -> None:
    _check(engine, case)


@pytest.mark.parametrize("case", _params("egress"))
def test_egress(engine: Triage, case: Case) -> None:
    _check(engine, case)


@pytest.mark.parametrize("case", _params("exec"))
def test_exec(engine: Triage, case: Case) -> None:
    _check(engine, case)


@pytest.mark.parametrize("case", _params("memory"))
def test_memory(engine: Triage, case: Case) -> None:
    _check(engine, case)


@pytest.mark.parametrize("case", _params("session"))
def test_session(engine: Triage, case: Case) -> None:
    _check(engine, case)


@pytest.mark.parametrize("case", _params("tool"))
def test_tool(engine: Triage, case: Case) -> None:
    _check(engine, case)
