"""The registry's house rules: unique ids, documented rules, every rule tested both ways."""

from __future__ import annotations

import re

from rule_cases import FAMILIES

from triage.rules.registry import RULES

_ID = re.compile(r"^(cred|file|egress|exec|memory|session|tool)\.[a-z0-9]+(?:-[a-z0-9]+)*$")


def test_ids_are_unique_and_well_formed() -> None:
    ids = [r.id for r in RULES]
    assert len(ids) == len(set(ids))
    for rule_id in ids:
        assert _ID.match(rule_id), rule_id


def test_every_rule_is_documented_with_an_example_and_a_near_miss() -> None:
    for r in RULES:
        assert r.title, r.id
        assert 0 < r.points <= 100, r.id
        doc = r.doc
        assert len(doc.split("\n\n")[0]) > 40, f"{r.id}: the doc should say what and why"
        assert "\nFires:" in doc or doc.startswith("Fires:"), f"{r.id}: no 'Fires:' example"
        assert "Near miss:" in doc, f"{r.id}: no 'Near miss:' example"


def test_every_rule_has_a_positive_and_a_negative_case() -> None:
    fires = {rid for cases in FAMILIES.values() for case in cases for rid in case.fires}
    quiet = {rid for cases in FAMILIES.values() for case in cases for rid in case.quiet}
    ids = {r.id for r in RULES}
    assert ids - fires == set(), "rules without a positive case"
    assert ids - quiet == set(), "rules without a near miss"
    assert (fires | quiet) <= ids, "cases name rules that do not exist"


def test_cases_sit_in_their_family_table() -> None:
    for family, cases in FAMILIES.items():
        for case in cases:
            for rid in case.fires:
                assert rid.split(".")[0] in (family, "egress"), (family, case.name, rid)


def test_document_lists_every_rule() -> None:
    from triage.rules.registry import document

    text = document()
    for r in RULES:
        assert f"## `{r.id}`" in text and r.doc in text
