"""Facts: everything rules may look at about one event, computed once by the engine.

Rules are pure functions of a `Facts`. The engine resolves paths against the session,
classifies hosts, scans payloads and analyses shell commands before any rule runs, so a
rule is a few attribute reads and never repeats another rule's work.

Both records are immutable NamedTuples rather than frozen dataclasses: one is built for
every event, and a tuple is built several times faster.
"""

from __future__ import annotations

from typing import NamedTuple

from triage.catalogues import CredentialEntry, DestinationClass
from triage.payload import NOTHING, Findings
from triage.shell import ShellAnalysis


class Host(NamedTuple):
    """A destination as the rules see it."""

    name: str  # lower-case, no port, IDN as written
    port: int | None = None
    klass: DestinationClass | None = None
    metadata: bool = False
    private: bool = False  # loopback, private range, link-local
    ip: bool = False  # written as an address rather than a name
    punycode: bool = False  # an xn-- label or non-ASCII characters
    new: bool = False  # not contacted before in this session
    bound: str | None = None  # the bound domain it falls under, if any

    @property
    def low(self) -> bool:
        return self.klass is not None and self.klass.risk == "low"

    @property
    def high(self) -> bool:
        return self.klass is not None and self.klass.risk == "high"


class Facts(NamedTuple):
    """One event, resolved. `kind` is what the event does (a `tool.call` Read is a
    `file.read`); `tool` keeps the tool's name when it came from a tool call."""

    kind: str
    tool: str | None = None
    # files
    path: str | None = None  # normalised, `~/…` under the session's home
    credential: CredentialEntry | None = None
    credentials_inside: tuple[str, ...] = ()  # titles, when a search covers a folder
    in_workspace: bool = False
    outside_workspace: bool = False  # False when the session has no workspace
    protected: str | None = None  # the protected-file glob it matches
    memory_file: str | None = None  # the agent-memory glob it matches
    # egress
    method: str | None = None
    host: Host | None = None
    payload: Findings = NOTHING  # of URL, headers and body (or a tool's input)
    foreign_credentials: tuple[str, ...] = ()  # where a non-placeholder credential sits
    # shell
    command: str | None = None
    shell: ShellAnalysis | None = None
    shell_hosts: tuple[Host, ...] = ()
    privileged: str | None = None  # sudo, doas, su, pkexec or run0 as a command word
    shell_credentials: tuple[str, ...] = ()  # titles of the credential files it reads
    environment_read: bool = False  # the command dumps or reads the process environment
    command_payload: Findings = NOTHING
    protected_writes: tuple[tuple[str, str], ...] = ()  # (path, protected glob) it writes
    memory_writes: tuple[tuple[str, str], ...] = ()  # (path, memory glob) it writes
    pushes_new: tuple[str, ...] = ()  # git pushes to a remote set in this session, or a URL
    # memory
    text: str | None = None  # the new instruction text (added lines of a diff)
    text_payload: Findings = NOTHING  # canaries and secrets in that text
    text_credentials: tuple[str, ...] = ()  # credential titles of paths the text names
    # a tool call that asks to run outside the agent's own sandbox: the input field
    leaves_sandbox: str | None = None
    # session history before this event
    credentials_read: tuple[str, ...] = ()  # credential titles, in order of first read

    @property
    def egress(self) -> bool:
        """Does this event send anything out of the sandbox?"""
        if self.kind in ("net.request", "net.connect"):
            return True
        if self.shell is not None:
            return bool(self.shell.network_sinks or self.shell.destinations)
        return self.kind == "tool.mcp"
