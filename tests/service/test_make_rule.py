""" "Make a rule from this": rows recorded in a real store give the narrowest entry,
and the YAML it adds is accepted by the real loader, alone and saved into a policy."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from app.service.history_queries import HistoryQueries
from app.service.history_rows import HistoryFilter
from app.service.store import Store
from app.trust.proposal import propose
from app.trust.saving import PolicyFiles, save
from sandbox.policy import load_policy

WORKSPACE = "/home/ana/src/shop"


def _recorded(tmp_path: Path, home: Path, events: list[tuple[dict[str, Any], str | None]]):
    store = Store(tmp_path / "sandgate.db")
    store.open_session("s1", WORKSPACE, ["claude"], agent="claude-code")
    for raw, decision in events:
        event = store.add_event("s1", raw, {"score": 60, "band": "high", "reasons": []})
        if decision is not None:
            store.add_decision(decision, "once", "user", events_=[event])
    store.close()
    queries = HistoryQueries(tmp_path / "sandgate.db")
    try:
        rows = list(reversed(queries.page(HistoryFilter())))  # oldest first, as recorded
        return [(row, queries.details(row.event)) for row in rows]
    finally:
        queries.close()


@pytest.fixture
def files(isolated_env: Path, resources: Path) -> PolicyFiles:
    user = isolated_env / ".config" / "sandgate" / "policy.yaml"
    user.parent.mkdir(parents=True, exist_ok=True)
    user.write_text("# mine\nversion: 1\n")
    return PolicyFiles(resources / "policy" / "default.yaml", user, isolated_env)


def test_each_kind_gets_its_narrowest_entry_and_the_loader_takes_it(
    files: PolicyFiles, tmp_path: Path
) -> None:
    home = files.home
    rows = _recorded(
        tmp_path,
        home,
        [
            ({"kind": "net.request", "url": "https://files.pythonhosted.org/p"}, "allow"),
            ({"kind": "net.request", "url": "http://paste.example.net:8080/x"}, "deny"),
            ({"kind": "net.connect", "host": "10.1.2.3", "port": 5432}, None),
            ({"kind": "file.read", "path": f"{home}/notes/todo.md"}, "allow"),
            ({"kind": "file.write", "path": f"{home}/.cache/../build/out"}, None),
            ({"kind": "file.read", "path": f"{home}/Private/diary"}, "deny"),
            ({"kind": "tool.call", "tool": "Bash", "input": {"command": "make"}}, "allow"),
            ({"kind": "file.write", "path": f"{WORKSPACE}/main.py"}, None),
        ],
    )  # fmt: skip
    got = [
        [(p.section, p.value, p.mode) for p in propose(row, d.raw if d else None, home)]
        for row, d in rows
    ]
    assert got == [
        [("network.allow", "files.pythonhosted.org", ""),
         ("network.allow", "*.pythonhosted.org", "")],
        [("network.deny", "paste.example.net:8080", ""), ("network.deny", "*.example.net", "")],
        [("network.allow", "10.1.2.3:5432", "")],
        [("trusted", "~/notes/todo.md", "ro")],
        [("trusted", "~/build/out", "rw")],
        [("deny", "~/Private/diary", "")],
        [],  # a command is not the policy file's to decide
        [],  # the workspace is read-write already
    ]  # fmt: skip
    document = files.user_document()
    for row, details in rows:
        for proposal in propose(row, details.raw if details else None, home):
            # The YAML shown, as a file of its own, is a valid policy...
            alone = tmp_path / f"alone-{row.event}.yaml"
            alone.write_text(proposal.yaml())
            load_policy(files.defaults, alone, home=home)
            proposal.apply(document)
    # ...and all of them saved through the editor's document make one the loader takes.
    save(document, files)
    policy = load_policy(files.defaults, files.user, home=home)
    assert {"files.pythonhosted.org", "*.pythonhosted.org", "10.1.2.3:5432"} <= set(
        policy.network.allow
    )
    assert {"paste.example.net:8080", "*.example.net"} <= set(policy.network.deny)
    assert {(t.pattern, t.mode) for t in policy.trusted} >= {
        ("~/notes/todo.md", "ro"),
        ("~/build/out", "rw"),
    }
    assert "~/Private/diary" in policy.deny
    assert files.user.read_text().startswith("# mine\n")


def test_the_yaml_reads_as_the_entry_it_adds(files: PolicyFiles, tmp_path: Path) -> None:
    connect = {"kind": "net.connect", "host": "api.github.com", "port": 443}
    ((row, details),) = _recorded(tmp_path, files.home, [(connect, "allow")])
    first = propose(row, details.raw if details else None, files.home)[0]
    assert first.yaml() == "network:\n  allow:\n    - api.github.com\n"
    assert first.title == "Allow api.github.com"
