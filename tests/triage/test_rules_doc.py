"""docs/rules.md is the rules' own documentation, rendered; it must not fall behind."""

from pathlib import Path

from triage.rules.registry import document

DOC = Path(__file__).resolve().parents[2] / "docs" / "rules.md"


def test_the_published_rule_reference_is_current() -> None:
    assert DOC.read_text(encoding="utf-8") == document(), (
        "docs/rules.md is stale: regenerate it with\n"
        '  .venv/bin/python -c "from triage.rules.registry import document; '
        "print(document(), end='')\" > docs/rules.md"
    )
