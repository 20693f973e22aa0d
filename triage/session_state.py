"""What triage remembers about one agent session, and what each event adds to it.

The state is mutable and private to the engine: a session's start sets its context
(home, workspace, canaries, bound domains), and each scored event adds the credentials
it read, the destinations it contacted and the git remotes it set.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from dataclasses import dataclass, field

from triage.catalogues import Catalogues, normalise_path
from triage.events import SessionStart
from triage.facts import Facts
from triage.payload import NO_CANARIES, Canaries, Findings, canaries_of

# The sensitive.yaml entry shell analysis reports for `env`, `printenv`, `$SECRET`.
ENVIRONMENT = "process-environment"


@dataclass
class SessionState:
    """What triage remembers about one agent session (mutable, engine-private)."""

    workspace: str | None = None
    home: str | None = None
    canaries: Canaries = NO_CANARIES
    bound: Mapping[str, str] = field(default_factory=dict)
    placeholders: frozenset[bytes] = frozenset()
    logins: frozenset[str] = frozenset()
    seen: set[str] = field(default_factory=set)
    credentials_read: list[str] = field(default_factory=list)
    # Findings of commands already scanned: they depend only on the command and this
    # session's canaries and placeholders, and agents repeat their commands.
    command_findings: dict[str, Findings] = field(default_factory=dict)
    remotes: dict[str, str] = field(default_factory=dict)  # git remotes set: name → URL


def started(event: SessionStart, before: SessionState | None) -> SessionState:
    """The state a session start sets; `before` is the session's state if it had one."""
    home = posixpath.normpath(event.home) if event.home else None
    workspace = normalise_path(event.workspace, home) if event.workspace else None
    fresh = SessionState(
        workspace=workspace,
        home=home,
        canaries=canaries_of(event.canaries),
        bound=dict(event.bound),
        placeholders=frozenset(
            [v.encode() for v in event.bound.values() if v]
            + [p.encode() for p in event.placeholders]
        ),
        logins=frozenset(normalise_path(p, home) for p in event.logins),
        seen=set(event.bound) | set(event.own_domains),
    )
    if before is not None:
        # A repeated start changes the context but never erases what happened.
        fresh.seen |= before.seen
        fresh.credentials_read = before.credentials_read
    return fresh


def remember(f: Facts, session: SessionState, catalogues: Catalogues) -> None:
    """Add what one scored event tells about its session."""
    found: list[str] = []
    if f.kind == "file.read" and f.credential is not None:
        found.append(f.credential.id)
    found.extend(f.credentials_inside)
    if f.shell is not None:
        # An `env` dump alone is judged on its own (exec.environment-read); only a
        # pipeline that sends it out is a theft, and that is ranked where it happens.
        found.extend(c for c in f.shell.credential_reads if c != ENVIRONMENT)
    for cid in found:
        title = catalogues.credential_titles.get(cid, cid)
        if title not in session.credentials_read:
            session.credentials_read.append(title)
    if f.host is not None:
        session.seen.add(f.host.name)
    for h in f.shell_hosts:
        session.seen.add(h.name)
    if f.shell is not None and f.shell.remotes_set:
        session.remotes.update(f.shell.remotes_set)
