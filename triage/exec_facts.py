"""Facts of shell commands: the shell analysis (memoised), the destinations it names,
the protected and agent files it writes, privilege tools, and a scan of its text."""

from __future__ import annotations

import re

from triage.catalogues import Catalogues, normalise_path
from triage.facts import Facts
from triage.file_facts import FileFacts
from triage.hosts import strip_port
from triage.net_facts import NetFacts
from triage.payload import Findings, scan
from triage.session_state import ENVIRONMENT, SessionState
from triage.shell import ShellAnalysis, analyse, pushed_somewhere_new

# A command word (at the start or after a separator) that raises privileges.
_PRIVILEGE = re.compile(r"(?:^|[;&|({]|\$\()\s*(sudo|doas|su|pkexec|run0)(?=\s|$)")
_SHELL_CACHE_SIZE = 4096


class ExecFacts:
    """Builds the facts of a command; remembers each command's analysis (agents repeat
    their commands: `pytest -q` again and again)."""

    def __init__(self, catalogues: Catalogues, files: FileFacts, net: NetFacts) -> None:
        self.catalogues = catalogues
        self._files = files
        self._net = net
        self._shell_cache: dict[tuple[str, str | None, str | None], ShellAnalysis] = {}

    def command(
        self,
        command: str,
        cwd: str | None,
        s: SessionState,
        prior: tuple[str, ...],
        tool: str | None,
    ) -> Facts:
        analysis = self._analyse(command, cwd, s)
        hosts = tuple(self._net.host(strip_port(d), None, s) for d in analysis.destinations)
        protected, memory = self._written(analysis.writes, cwd, s) if analysis.writes else ((), ())
        pushes = analysis.pushes and pushed_somewhere_new(
            analysis.pushes, s.remotes, analysis.remotes_set
        )
        return Facts(
            kind="exec",
            tool=tool,
            command=command,
            shell=analysis,
            shell_hosts=hosts,
            privileged=m.group(1) if (m := _PRIVILEGE.search(command)) else None,
            shell_credentials=tuple(
                self.catalogues.credential_titles.get(c, c)
                for c in analysis.credential_reads
                if c != ENVIRONMENT
            ),
            environment_read=ENVIRONMENT in analysis.credential_reads,
            command_payload=self._command_findings(command, s),
            protected_writes=protected,
            memory_writes=memory,
            pushes_new=pushes or (),
            credentials_read=prior,
        )

    def _written(
        self, writes: tuple[str, ...], cwd: str | None, s: SessionState
    ) -> tuple[tuple[tuple[str, str], ...], tuple[tuple[str, str], ...]]:
        """(path, glob) of the protected files, then of the agent files, a command writes."""
        protected: list[tuple[str, str]] = []
        memory: list[tuple[str, str]] = []
        base = cwd or s.workspace
        for raw in writes:
            path = normalise_path(f"{base}/{raw}" if base and raw[0] not in "/~" else raw, s.home)
            _, memory_glob, protected_glob = self._files.path_info(path)
            if protected_glob is not None:
                protected.append((path, protected_glob))
            if memory_glob is not None:
                memory.append((path, memory_glob))
        return tuple(protected), tuple(memory)

    def _command_findings(self, command: str, s: SessionState) -> Findings:
        found = s.command_findings.get(command)
        if found is None:
            data = command.encode("utf-8", "surrogatepass")
            found = scan(data, self.catalogues, s.canaries, s.placeholders)
            if len(s.command_findings) >= _SHELL_CACHE_SIZE:
                s.command_findings.clear()
            s.command_findings[command] = found
        return found

    def _analyse(self, command: str, cwd: str | None, s: SessionState) -> ShellAnalysis:
        key = (command, s.home, cwd)
        cached = self._shell_cache.get(key)
        if cached is not None:
            return cached
        cat = self.catalogues
        home = s.home

        def is_credential(path: str) -> str | None:
            if cwd and not path.startswith(("/", "~")):
                path = cwd.rstrip("/") + "/" + path
            entry = cat.match_credential(path, home)
            return entry.id if entry is not None else None

        result = analyse(command, is_credential)
        if len(self._shell_cache) >= _SHELL_CACHE_SIZE:
            self._shell_cache.clear()
        self._shell_cache[key] = result
        return result
