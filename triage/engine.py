"""The triage engine: events in, verdicts out, with per-session memory.

`Triage.score(event)` resolves the event into `Facts` (paths against the session's
home and workspace, hosts against the destination catalogue, payloads through one
linear scan, shell commands through triage/shell/), runs every rule of the registry
in order, and sums the points of those that fire (clamped to 0–100). Then it updates
the session: credentials read, destinations contacted.

Deterministic: the only inputs are the catalogues and the events, in order.

The facts of each kind of event are built apart: `file_facts` (reads, writes, agent
memory), `net_facts` (connections, requests, hosts), `exec_facts` (shell commands) and
`tool_facts` (tool calls, through the action each performs); `session_state` holds
what is remembered about each session between its events.
"""

from __future__ import annotations

from typing import Any

from triage.catalogues import Catalogues
from triage.events import (
    Event,
    EventError,
    Exec,
    FileAccess,
    MemoryWrite,
    NetConnect,
    NetRequest,
    SessionStart,
    ToolCall,
    parse_event,
)
from triage.exec_facts import ExecFacts
from triage.facts import Facts
from triage.file_facts import FileFacts
from triage.net_facts import NetFacts
from triage.rules.base import KINDS, Rule
from triage.rules.registry import RULES
from triage.session_state import SessionState, remember, started
from triage.signature import signature as make_signature
from triage.tool_facts import ToolFacts
from triage.verdict import Reason, Verdict, band_of


class Triage:
    """Scores events. One instance holds the state of every session it has seen."""

    def __init__(self, catalogues: Catalogues, rules: tuple[Rule, ...] = RULES) -> None:
        self.catalogues = catalogues
        self.rules = rules
        # Per kind, each rule as (check, id, points): the loop in `score` runs some thirty
        # times per event, and unpacking a tuple is cheaper than three attribute reads.
        self._by_kind = {
            kind: tuple((r.check, r.id, r.points) for r in rules if kind in r.kinds)
            for kind in KINDS
        }
        self._sessions: dict[str, SessionState] = {}
        self._files = FileFacts(catalogues)
        self._net = NetFacts(catalogues)
        self._commands = ExecFacts(catalogues, self._files, self._net)
        self._tools = ToolFacts(catalogues, self._files, self._net, self._commands)

    def forget(self, session: str) -> None:
        """Drop what is remembered about a session (when the service closes it)."""
        self._sessions.pop(session, None)

    def score_dict(self, obj: Any) -> Verdict:
        """Parse an events.md object and score it; a bad event gives an error verdict."""
        try:
            event = parse_event(obj)
        except EventError as exc:
            return Verdict.failed(exc.event_id, str(exc))
        return self.score(event)

    def score(self, event: Event) -> Verdict:
        """Score one event and remember what it tells about its session."""
        session = self._sessions.get(event.session)
        if isinstance(event, SessionStart):
            self._sessions[event.session] = started(event, session)
            return Verdict(event.id, signature="session.start", session=event.session)
        if session is None:
            session = self._sessions[event.session] = SessionState()
        facts = self._facts(event, session)
        reasons = []
        total = 0
        for check, rule_id, points in self._by_kind[facts.kind]:
            why = check(facts)
            if why is not None:
                reasons.append(Reason(rule_id, points, why))
                total += points
        score = max(0, min(100, total))
        band = band_of(score)
        remember(facts, session, self.catalogues)
        signature = make_signature(event, facts, session.workspace, band)
        return Verdict(event.id, score, band, tuple(reasons), signature, event.session)

    def _facts(self, event: Event, s: SessionState) -> Facts:
        prior = tuple(s.credentials_read)
        if isinstance(event, FileAccess):
            return self._files.file(event.kind, event.path, s, prior, None, None)
        if isinstance(event, NetRequest):
            return self._net.request(event, s, prior, None)
        if isinstance(event, NetConnect):
            return self._net.connect(event, s, prior)
        if isinstance(event, Exec):
            return self._commands.command(event.command, event.cwd, s, prior, None)
        if isinstance(event, MemoryWrite):
            return self._files.memory_write(event, s, prior)
        if isinstance(event, ToolCall):
            return self._tools.tool(event, s, prior)
        raise AssertionError(f"unhandled kind {event.kind}")  # parse_event guards this
