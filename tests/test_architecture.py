"""The house rules that keep the layers apart: Qt only in app/ui, triage self-contained."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("app", "triage", "sandbox", "resources")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
        elif isinstance(node, ast.ImportFrom) and node.level > 0:
            names.add("." * node.level + (node.module or ""))
    return names


def _sources() -> list[Path]:
    return sorted(p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py"))


def _top(name: str) -> str:
    return name.split(".")[0]


@pytest.mark.parametrize("path", _sources(), ids=lambda p: str(p.relative_to(ROOT)))
def test_pyside6_only_inside_app_ui(path: Path) -> None:
    if (ROOT / "app" / "ui") in path.parents:
        return
    offending = {n for n in _imports(path) if _top(n) == "PySide6"}
    assert not offending, f"{path.relative_to(ROOT)} imports {offending}"


@pytest.mark.parametrize(
    "path", sorted((ROOT / "triage").rglob("*.py")), ids=lambda p: str(p.relative_to(ROOT))
)
def test_triage_imports_only_itself(path: Path) -> None:
    # The one exception: the shared reader of the credential catalogues, a leaf that the
    # sandbox's decoys read too, so the two cannot read the schema differently.
    offending = {
        n
        for n in _imports(path)
        if _top(n) in ("app", "sandbox", "resources") and n not in SHARED_LEAVES
    }
    assert not offending, f"{path.relative_to(ROOT)} imports {offending}"


SHARED_LEAVES = frozenset({"resources.credential_catalogue"})


def test_shared_leaves_import_nothing_of_ours() -> None:
    for name in SHARED_LEAVES:
        path = ROOT / (name.replace(".", "/") + ".py")
        ours = {n for n in _imports(path) if _top(n) in PACKAGES or n.startswith(".")}
        assert not ours, f"{name} imports {ours}"


@pytest.mark.parametrize(
    "path", sorted((ROOT / "sandbox").rglob("*.py")), ids=lambda p: str(p.relative_to(ROOT))
)
def test_sandbox_does_not_import_app(path: Path) -> None:
    offending = {n for n in _imports(path) if _top(n) == "app"}
    assert not offending, f"{path.relative_to(ROOT)} imports {offending}"


def test_the_checks_see_a_violation(tmp_path: Path) -> None:
    """The import scanner must catch both spellings, or the tests above prove nothing."""
    bad = tmp_path / "bad.py"
    bad.write_text("import PySide6.QtCore\nfrom app.store import Store\n")
    assert {"PySide6.QtCore", "app.store"} <= _imports(bad)
