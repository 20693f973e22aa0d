"""docs/events.md is the published event contract; it must not fall behind the code."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from triage.events import KINDS, MAX_DEPTH, MAX_DIGITS
from triage.rules.registry import RULES

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "events.md"


def _blocks() -> list[str]:
    return re.findall(r"```json\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)


def test_the_example_scores_to_the_verdicts_shown() -> None:
    events, verdicts = _blocks()
    scored = subprocess.run(
        [sys.executable, "-m", "app.cli", "score", "-"],
        input=events.encode(), cwd=ROOT, capture_output=True, check=False,
    )  # fmt: skip
    assert scored.stdout.decode() == verdicts, "docs/events.md's example verdicts are stale"


def test_every_kind_family_and_limit_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    kinds = text.split("## Kinds", 1)[1].split("\n## ", 1)[0]
    for kind in KINDS:
        assert f"`{kind}`" in kinds, kind
    for family in {rule.id.split(".")[0] for rule in RULES}:
        assert f"`{family}.*`" in text, family
    assert f"deeper than {MAX_DEPTH} levels" in text
    assert f"more than {MAX_DIGITS} digits" in text


def test_nothing_points_outside_the_repository_for_the_contract() -> None:
    for path in [ROOT / "README.md", *(ROOT / "docs").glob("*.md"), *(ROOT / "app").rglob("*.py")]:
        assert "../shared/" not in path.read_text(encoding="utf-8"), path
