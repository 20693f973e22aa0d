"""The triage engine: events in, verdicts out, with per-session memory.

`Triage.score(event)` resolves the event into `Facts` (paths against the session's
home and workspace, hosts against the destination catalogue, payloads through one
linear scan, shell commands through triage/shell/), runs every rule of the registry
in order, and sums the points of those that fire (clamped to 0–100). Then it updates
the session: credentials read, destinations contacted.

Deterministic: the only inputs are the catalogues and the events, in order.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from triage.catalogues import Catalogues, CredentialEntry, normalise_path
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
from triage.facts import Facts, Host
from triage.hosts import HostClassifier, normalise_host, strip_port
from triage.payload import (
    NOTHING,
    Findings,
    SecretHit,
    merge,
    scan,
)
from triage.rules.base import KINDS, Rule
from triage.rules.registry import RULES
from triage.session_state import ENVIRONMENT, SessionState, remember, started
from triage.shell import ShellAnalysis, analyse, pushed_somewhere_new
from triage.signature import signature as make_signature
from triage.tools import Action, action_of
from triage.verdict import Reason, Verdict, band_of

_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443, "ftp": 21}
# Header and query names that carry credentials. Deliberately not "session", "key" or
# "cookie" alone in headers: SDKs send session ids, idempotency keys and CDN cookies.
_CREDENTIAL_HEADER = re.compile(
    r"(?i)^(?:authorization|proxy-authorization|x-api-key|api-key|apikey|x-auth-token|"
    r"x-access-token|private-token|x-goog-api-key|x-amz-security-token|x-gitlab-token|"
    r"x-github-token|openai-api-key)$"
    r"|(?:^|[-_])(?:api[-_]?key|apikey|auth[-_]?token|access[-_]?token|secret|password|"
    r"credentials?)(?:$|[-_])"
)
_CREDENTIAL_PARAM = re.compile(
    r"(?i)^(?:key|token|auth|access_token|api_key|apikey|api-key|secret|password|sig)$"
)
_AUTH_SCHEME = re.compile(r"(?i)^(?:bearer|token|basic|apikey|key)\s+")
_TEXT_PATH = re.compile(
    r"(?:~|\$HOME|\$\{HOME\}|/home/[^/\s]+|/Users/[^/\s]+|/root)/[^\s'\"`<>()\[\]{},;|&*]+"
)
# A command word (at the start or after a separator) that raises privileges.
_PRIVILEGE = re.compile(r"(?:^|[;&|({]|\$\()\s*(sudo|doas|su|pkexec|run0)(?=\s|$)")
_SHELL_CACHE_SIZE = 4096
_PATH_CACHE_SIZE = 8192


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
        self._shell_cache: dict[tuple[str, str | None, str | None], ShellAnalysis] = {}
        self._classify = HostClassifier(catalogues)
        self._path_cache: dict[str, tuple[CredentialEntry | None, str | None, str | None]] = {}

    # -- public -------------------------------------------------------------------------

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

    # -- facts --------------------------------------------------------------------------

    def _facts(self, event: Event, s: SessionState) -> Facts:
        prior = tuple(s.credentials_read)
        if isinstance(event, FileAccess):
            return self._file(event.kind, event.path, s, prior, None, None)
        if isinstance(event, NetRequest):
            return self._request(event, s, prior, None)
        if isinstance(event, NetConnect):
            return Facts(
                kind="net.connect",
                host=self._host(event.host, event.port, s),
                # A name can carry data too: <canary>.attacker.example
                payload=scan(event.host.encode(), self.catalogues, s.canaries, s.placeholders),
                credentials_read=prior,
            )
        if isinstance(event, Exec):
            return self._exec(event.command, event.cwd, s, prior, None)
        if isinstance(event, MemoryWrite):
            text = event.content or ""
            if event.diff is not None:
                text += "\n" + _added_lines(event.diff)
            return self._file("memory.write", event.path, s, prior, None, text)
        if isinstance(event, ToolCall):
            return self._tool(event, s, prior)
        raise AssertionError(f"unhandled kind {event.kind}")  # parse_event guards this

    def _file(
        self,
        kind: str,
        raw: str,
        s: SessionState,
        prior: tuple[str, ...],
        tool: str | None,
        text: str | None,
    ) -> Facts:
        ws = s.workspace
        if ws and not raw.startswith(("/", "~")):
            raw = f"{ws}/{raw}"  # relative paths (a patch's) are the workspace's
        path = normalise_path(raw, s.home)
        inside = ws is not None and (path == ws or path.startswith(ws + "/"))
        credential, memory, protected = self._path_info(path)
        writing = kind in ("file.write", "memory.write")
        if not writing and path in s.logins:
            credential = None  # the agent reading its own login (shown with placeholders)
        text_payload = NOTHING
        text_creds: tuple[str, ...] = ()
        if text is not None:
            text_payload = scan(
                text.encode("utf-8", "surrogatepass"), self.catalogues, s.canaries, s.placeholders
            )
            text_creds = self._credentials_named(text, s)
        return Facts(
            kind=kind,
            tool=tool,
            path=path,
            credential=credential,
            in_workspace=inside,
            outside_workspace=ws is not None and not inside,
            protected=protected if writing else None,
            memory_file=memory,
            text=text,
            text_payload=text_payload,
            text_credentials=text_creds,
            credentials_read=prior,
        )

    def _path_info(self, path: str) -> tuple[CredentialEntry | None, str | None, str | None]:
        """Credential entry, memory glob and protected glob of a normalised path
        (memoised: agents touch the same files again and again)."""
        info = self._path_cache.get(path)
        if info is None:
            cat = self.catalogues
            info = (cat.credential_at(path), cat.memory_at(path), cat.protected_at(path))
            if len(self._path_cache) >= _PATH_CACHE_SIZE:
                self._path_cache.clear()
            self._path_cache[path] = info
        return info

    def _credentials_named(self, text: str, s: SessionState) -> tuple[str, ...]:
        found: list[str] = []
        for m in _TEXT_PATH.finditer(text):
            candidate = m.group(0).rstrip(".:")
            for prefix in ("${HOME}", "$HOME"):
                if candidate.startswith(prefix):
                    candidate = "~" + candidate[len(prefix) :]
            entry = self.catalogues.match_credential(candidate, s.home)
            if entry is not None and entry.title not in found:
                found.append(entry.title)
        return tuple(found)

    def _request(
        self, event: NetRequest, s: SessionState, prior: tuple[str, ...], tool: str | None
    ) -> Facts:
        try:
            parts = urlsplit(event.url)
            port = parts.port
        except ValueError:
            parts = urlsplit("")
            port = None
        hostname = parts.hostname or ""
        if port is not None and port == _DEFAULT_PORTS.get(parts.scheme.lower()):
            port = None
        host = self._host(hostname, port, s)
        lines = [event.url.encode("utf-8", "surrogatepass")]
        lines += [f"{k}: {v}".encode("utf-8", "surrogatepass") for k, v in event.headers]
        head = b"\n".join(lines)
        # URL and headers apart from the body: a body without long runs then costs one
        # translate, and where a secret sits is known for the foreign-credential check.
        cat, canaries, allowed = self.catalogues, s.canaries, s.placeholders
        head_findings = scan(head, cat, canaries, allowed)
        body_findings = scan(event.body, cat, canaries, allowed)
        payload = merge(head_findings, body_findings)
        foreign: tuple[str, ...] = ()
        if host.bound is not None:
            bound = s.bound[host.bound]
            foreign = self._foreign(
                event, parts.query, bound, head_findings.secrets, body_findings.secrets
            )
        return Facts(
            kind="net.request",
            tool=tool,
            method=event.method,
            host=host,
            payload=payload,
            foreign_credentials=foreign,
            credentials_read=prior,
        )

    def _foreign(
        self,
        event: NetRequest,
        query: str,
        placeholder: str,
        head: tuple[SecretHit, ...],
        body: tuple[SecretHit, ...],
    ) -> tuple[str, ...]:
        """Where a request to a bound domain carries a credential other than its placeholder."""
        where: list[str] = []
        for name, value in event.headers:
            if _CREDENTIAL_HEADER.search(name) and not _is_placeholder(value, placeholder):
                where.append(f"header {name}")
        for name, value in parse_qsl(query, keep_blank_values=False):
            if (
                _CREDENTIAL_PARAM.match(name) or _CREDENTIAL_HEADER.search(name)
            ) and not _is_placeholder(value, placeholder):
                where.append(f"query parameter {name}")
        for hit in head:
            where.append(f"{hit.title} in the URL or headers")
        for hit in body:
            where.append(f"{hit.title} in the body")
        return tuple(dict.fromkeys(where))

    def _exec(
        self,
        command: str,
        cwd: str | None,
        s: SessionState,
        prior: tuple[str, ...],
        tool: str | None,
    ) -> Facts:
        analysis = self._analyse(command, cwd, s)
        hosts = tuple(self._host(strip_port(d), None, s) for d in analysis.destinations)
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
            _, memory_glob, protected_glob = self._path_info(path)
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

    def _tool(self, event: ToolCall, s: SessionState, prior: tuple[str, ...]) -> Facts:
        action = action_of(event.tool, event.input)
        facts = self._action(event, action, s, prior)
        if action.leaves_sandbox is not None:
            facts = facts._replace(leaves_sandbox=action.leaves_sandbox)
        return facts

    def _action(
        self, event: ToolCall, action: Action, s: SessionState, prior: tuple[str, ...]
    ) -> Facts:
        tool = event.tool
        if action.kind == "exec" and action.command is not None:
            return self._exec(action.command, action.cwd, s, prior, tool)
        if action.kind == "read":
            return self._file("file.read", action.paths[0], s, prior, tool, None)
        if action.kind == "search":
            facts = self._file("file.read", action.paths[0], s, prior, tool, None)
            if facts.credential is None and facts.path is not None:
                inside = self.catalogues.credentials_under(facts.path, s.home)
                if inside:
                    titles = tuple(dict.fromkeys(e.title for e in inside))
                    facts = facts._replace(credentials_inside=titles)
            return facts
        if action.kind == "write" and action.paths:
            path, text = self._weightiest(action, s)
            return self._file("file.write", path, s, prior, tool, text)
        if action.kind == "fetch" and action.url is not None:
            request = NetRequest(event.id, event.session, "net.request", url=action.url)
            return self._request(request, s, prior, tool)
        if action.kind == "mcp":
            body = json.dumps(dict(event.input), sort_keys=True, ensure_ascii=False, default=str)
            return Facts(
                kind="tool.mcp",
                tool=tool,
                payload=scan(
                    body.encode("utf-8", "surrogatepass"),
                    self.catalogues,
                    s.canaries,
                    s.placeholders,
                ),
                credentials_read=prior,
            )
        return Facts(kind="tool.other", tool=tool, credentials_read=prior)

    def _weightiest(self, action: Action, s: SessionState) -> tuple[str, str | None]:
        """Of the files one call writes (a patch may touch several), the one that
        matters most: a credential, then a protected file, then an agent memory file.
        Its new text is kept only for a memory file, where the text is what is judged."""
        best: tuple[int, str, str | None] | None = None
        for path, text in zip(action.paths, action.texts, strict=False):
            credential, memory, protected = self._path_info(normalise_path(path, s.home))
            rank = 3 if credential else 2 if protected else 1 if memory else 0
            if best is None or rank > best[0]:
                best = (rank, path, text if memory else None)
        assert best is not None
        return best[1], best[2]

    # -- hosts --------------------------------------------------------------------------

    def _host(self, name: str, port: int | None, s: SessionState) -> Host:
        name = normalise_host(name)
        info = self._classify(name)
        bound = None
        for domain in s.bound:
            if name == domain or name.endswith("." + domain):
                bound = domain
                break
        return Host(name, port, *info, new=name not in s.seen, bound=bound)


# -- helpers ------------------------------------------------------------------------------


def _is_placeholder(value: str, placeholder: str) -> bool:
    """Is this header or parameter value empty or the session's own placeholder?"""
    value = _AUTH_SCHEME.sub("", value.strip())
    return not value or (bool(placeholder) and placeholder in value)


def _added_lines(diff: str) -> str:
    return "\n".join(
        line[1:]
        for line in diff.splitlines()
        if line.startswith("+") and not line.startswith("+++")
    )
