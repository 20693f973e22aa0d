"""The demo's sentences: recorded text is agent-controlled, so it is shown escaped."""

from __future__ import annotations

from app.demo.narrate import agent_output, decision, verdict


def test_agent_text_is_made_visible() -> None:
    row = {
        "kind": "file.read",
        "path": "/w/\u202eevil\x1b[2J",
        "decision": None,
        "score": 70,
        "band": "high",
        "reasons": [{"rule": "cred.read", "points": 70, "why": "reads \u2066x\u2069"}],
    }
    text = "\n".join(verdict(row) + agent_output(["ok \x07bell", "  "]))
    for raw in ("\u202e", "\x1b", "\u2066", "\x07"):
        assert raw not in text
    assert "\\u202e" in text and "\\u001b" in text and "\\u0007" in text
    assert "score 70 (high)" in text and "cred.read (+70)" in text


def test_decisions_in_words() -> None:
    allowed = decision({"decision": "allow", "decided_by": "credential:credential:demo"})
    assert allowed.startswith("allowed: it carries the placeholder of credential 'demo'")
    assert "canary" in decision({"decision": "deny", "decided_by": "canary"})
    assert "policy rule 'x.test'" in decision({"decision": "deny", "decided_by": "policy:x.test"})
