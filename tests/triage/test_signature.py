"""Signature format (documented in triage/batches.py): one example per kind."""

from __future__ import annotations

from typing import Any

import pytest
from rule_cases import START, WS

from triage.engine import Triage


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        ({"kind": "file.read", "path": WS + "/src/a.py"}, "file.read $WORKSPACE/src/*.py"),
        ({"kind": "file.read", "path": "~/.kube/config"}, "file.read cred:kube"),
        ({"kind": "file.write", "path": "/tmp/x/Makefile"}, "file.write /tmp/x/*"),
        ({"kind": "file.read", "path": "~/notes/a.txt"}, "file.read ~/notes/*.txt"),
        (
            {"kind": "memory.write", "path": WS + "/CLAUDE.md", "content": "Use ruff."},
            "memory.write $WORKSPACE/CLAUDE.md",
        ),
        (
            {"kind": "net.request", "method": "get", "url": "https://PyPI.org:443/simple/"},
            "net.request pypi.org",
        ),
        (
            {"kind": "net.request", "method": "GET", "url": "http://example.org:8080/"},
            "net.request example.org:8080",
        ),
        ({"kind": "net.connect", "host": "::1", "port": 5432}, "net.connect [::1]:5432"),
        ({"kind": "exec", "command": "FOO=1 make test"}, "exec make"),
        (
            {"kind": "exec", "command": "git clone https://github.com/a/b"},
            "exec git -> github.com",
        ),
        (
            {"kind": "tool.call", "tool": "Bash", "input": {"command": "pytest -q"}},
            "tool.call Bash pytest",
        ),
        (
            {"kind": "tool.call", "tool": "Read", "input": {"file_path": WS + "/README.md"}},
            "tool.call Read $WORKSPACE/*.md",
        ),
        (
            {"kind": "tool.call", "tool": "WebFetch", "input": {"url": "https://docs.rs/x"}},
            "tool.call WebFetch docs.rs",
        ),
        (
            {"kind": "tool.call", "tool": "mcp__github__search", "input": {"q": "x"}},
            "tool.call mcp__github__search",
        ),
        ({"kind": "tool.call", "tool": "TodoWrite", "input": {}}, "tool.call TodoWrite"),
    ],
)
def test_signature(engine: Triage, event: dict[str, Any], expected: str) -> None:
    engine.score_dict({"id": "0", "session": "s", **START})
    assert engine.score_dict({"id": "1", "session": "s", **event}).signature == expected
