"""The data a walk passes around, and the findings it returns.

Data is a ``_Flow``: the credential ids it came from and whether it came off the
network. Words, variables, files and standard streams each carry one; a flow joins
another with ``|``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

IsCredential = Callable[[str], str | None]


@dataclass(frozen=True)
class ShellAnalysis:
    """The findings about one shell command, each tuple in order of first appearance.

    - ``credential_reads``: ids (from ``is_credential``) of credential locations whose
      content the command reads: named to a reading tool, redirected in, taken by a
      recursive tool from a folder that holds them, printed by a command such as
      ``gh auth token``, or the environment (see ``ENVIRONMENT``). Naming a path to
      ``ls``, ``chmod`` or ``echo`` is not a read.
    - ``network_sinks``: tools that send data out: ``curl``/``wget`` with data or upload
      options, raw sockets, ssh and copies to remote hosts, mail, cloud copies, inline
      programs that use the network, ``/dev/tcp`` redirects, and any network tool that
      credential data reaches. A plain download is not a sink.
    - ``destinations``: hosts named in URLs or as a network tool's target, lower-case.
    - ``encoders``: encoding or archiving tools in the command.
    - ``exfil_pipeline``: credential data reaches a sink, by pipe, file, variable,
      substitution, nested shell or git commit and push.
    - ``downloads_and_runs``: something downloaded is run (piped to a shell or an
      interpreter, given to ``eval``/``source``/``bash -c``, or saved and executed).
    - ``parse_error``: set when bashlex could not be used and the token scan answered.
    - ``writes``: paths the command writes (redirects, ``tee``, a copy's or download's
      target, ``sed -i``, ``chmod +x``), normalised as ``normalise_path`` does.
    - ``host_access``: (category, what) pairs from ``host``: a container given the
      host's files (``mount``), run privileged (``privileged``) or handed the runtime's
      socket (``socket``), and ``nsenter`` (``namespace``).
    - ``git_config``: ``key = value`` settings a ``git config`` plants that run a program.
    - ``remotes_set``: (name, URL) of git remotes added or changed; ``pushes``: what
      ``git push`` pushes to (a remote name, a URL, or "" for the upstream).
    """

    credential_reads: tuple[str, ...]
    network_sinks: tuple[str, ...]
    destinations: tuple[str, ...]
    encoders: tuple[str, ...]
    exfil_pipeline: bool
    downloads_and_runs: bool
    parse_error: str | None
    writes: tuple[str, ...] = ()
    host_access: tuple[tuple[str, str], ...] = ()
    git_config: tuple[str, ...] = ()
    remotes_set: tuple[tuple[str, str], ...] = ()
    pushes: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Flow:
    """What some data carries: credential ids it came from, and whether it came off the net."""

    creds: frozenset[str] = frozenset()
    remote: bool = False

    def __or__(self, other: _Flow) -> _Flow:
        if not other.creds and not other.remote:
            return self
        if not self.creds and not self.remote:
            return other
        return _Flow(self.creds | other.creds, self.remote or other.remote)


_EMPTY = _Flow()
_REMOTE = _Flow(remote=True)


@dataclass
class _Arg:
    """One word of a command: its text (with known variables expanded) and its data."""

    text: str
    alts: tuple[str, ...]
    flow: _Flow
    out_procs: tuple[Any, ...] = ()


@dataclass
class _Var:
    values: tuple[str, ...]
    flow: _Flow


@dataclass
class _Findings:
    reads: list[str] = field(default_factory=list)
    sinks: list[str] = field(default_factory=list)
    dests: list[str] = field(default_factory=list)
    encoders: list[str] = field(default_factory=list)
    exfil: bool = False
    runs_download: bool = False
    writes: list[str] = field(default_factory=list)
    host: list[tuple[str, str]] = field(default_factory=list)
    git_config: list[str] = field(default_factory=list)
    remotes: list[tuple[str, str]] = field(default_factory=list)
    pushes: list[str] = field(default_factory=list)

    def add(self, bucket: list[str], item: str) -> None:
        if item and item not in bucket:
            bucket.append(item)
