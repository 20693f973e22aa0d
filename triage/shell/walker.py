"""The walk over parsed nodes: lists, pipelines, loops, functions, words and variables.

``analyse`` is the entry point. The walker keeps the state that lives through one
command line (variables, files written, network file descriptors, functions, the working
folder) and the findings; redirects go to ``redirects``, and each simple command, once
its words are evaluated, to ``commands._simple``.
"""

from __future__ import annotations

from collections.abc import Iterable
from fnmatch import fnmatchcase
from typing import Any

from triage.shell.commands import _simple
from triage.shell.flow import _EMPTY, IsCredential, ShellAnalysis, _Arg, _Findings, _Flow, _Var
from triage.shell.parse import MAX_PARSE_CHARS, _parse, _prepare, _quick_parse
from triage.shell.redirects import _redirect_in, _redirect_out
from triage.shell.scan import _scan
from triage.shell.tables import (
    _ECHO_SUBST,
    _GLOB_CHARS,
    _HOME_PREFIX,
    _MAX_DEPTH,
    _SECRET_VARIABLE,
    _VAR_REF,
    _WELL_KNOWN,
    ENVIRONMENT,
)
from triage.shell.words import _strip_wrappers, _var_names, normalise_path


def analyse(command: str, is_credential: IsCredential) -> ShellAnalysis:
    """Analyse one shell command as a shell would receive it.

    ``is_credential(path)`` answers whether a path (starting with ``~`` for the home, or
    absolute, or relative as written) is a credential location, with its credential id.
    """
    walker = _Walker(is_credential)
    error = walker.run(command, _EMPTY)
    found = walker.found
    return ShellAnalysis(
        credential_reads=tuple(found.reads),
        network_sinks=tuple(found.sinks),
        destinations=tuple(found.dests),
        encoders=tuple(found.encoders),
        exfil_pipeline=found.exfil,
        downloads_and_runs=found.runs_download,
        parse_error=error,
        writes=tuple(found.writes),
        host_access=tuple(dict.fromkeys(found.host)),
        git_config=tuple(found.git_config),
        remotes_set=tuple(dict.fromkeys(found.remotes)),
        pushes=tuple(found.pushes),
    )


class _Walker:
    """Walks parsed commands, keeping the state that lives through one command line."""

    def __init__(self, is_credential: IsCredential) -> None:
        self.is_credential = is_credential
        self.found = _Findings()
        self.vars: dict[str, _Var] = {"HOME": _Var(("~",), _EMPTY)}
        self.files: dict[str, _Flow] = {}
        self.net_fds: set[int] = set()
        self.functions: dict[str, Any] = {}
        self.cwd: str | None = None
        self.depth = 0
        self._source_text = ""
        self._cred_cache: dict[str, tuple[str, ...]] = {}

    # -- entry points --

    def run(self, source: str, stdin: _Flow) -> str | None:
        """Walk ``source``; returns the parse error when the token scan had to stand in."""
        if len(source) > MAX_PARSE_CHARS:
            _scan(self, source)
            return f"command longer than {MAX_PARSE_CHARS} characters; token scan used"
        quick = _quick_parse(source)
        if quick is not None:
            nodes = quick
        else:
            source = _prepare(source)
            self._source_text = source
            try:
                nodes = _parse(source)
            except Exception as exc:  # bashlex raises many types for what it does not support
                _scan(self, source)
                return f"{type(exc).__name__}: {exc}"
        try:
            for node in nodes:
                self.node(node, stdin)
        except RecursionError:  # nesting deeper than the walk can follow
            _scan(self, source)
            return "nested too deeply; token scan used"
        return None

    def nested(self, source: str, stdin: _Flow) -> _Flow:
        """A command string run by a shell inside the command (``bash -c``, ``os.system``)."""
        if self.depth >= _MAX_DEPTH:
            return stdin
        self.depth += 1
        outer_text = self._source_text
        try:
            if len(source) > MAX_PARSE_CHARS:
                return _scan(self, source) | stdin
            quick = _quick_parse(source)
            if quick is not None:
                nodes = quick
            else:
                source = _prepare(source)
                self._source_text = source
                try:
                    nodes = _parse(source)
                except Exception:
                    return _scan(self, source) | stdin
            out = _EMPTY
            for node in nodes:
                out = out | self.node(node, stdin)
            return out
        finally:
            self.depth -= 1
            self._source_text = outer_text

    # -- tree walk --

    def node(self, node: Any, stdin: _Flow) -> _Flow:
        """Walk one node with ``stdin``; returns what its standard output carries."""
        kind = node.kind
        if kind == "command":
            return self.command(node, stdin)
        if kind == "pipeline":
            flow = stdin
            for part in node.parts:
                if part.kind not in ("pipe", "reservedword"):
                    flow = self.node(part, flow)
            return flow
        if kind == "list":
            out = _EMPTY
            for part in node.parts:
                if part.kind != "operator":
                    out = out | self.node(part, stdin)
            return out
        if kind == "compound":
            inner_in = stdin
            redirects = list(getattr(node, "redirects", []) or [])
            for redirect in redirects:
                inner_in = inner_in | _redirect_in(self, redirect)
            out = _EMPTY
            for part in node.list:
                if part.kind != "reservedword":
                    out = out | self.node(part, inner_in)
            return _redirect_out(self, redirects, out)
        if kind in ("if", "while", "until"):
            out = _EMPTY
            for part in node.parts:
                if part.kind not in ("reservedword", "operator", "word"):
                    out = out | self.node(part, stdin)
            return out
        if kind == "for":
            return self.for_loop(node, stdin)
        if kind == "function":
            self.functions[node.name.word] = node.body
            return _EMPTY
        return _EMPTY

    def for_loop(self, node: Any, stdin: _Flow) -> _Flow:
        words = [p for p in node.parts if p.kind == "word"]
        if words:
            values: list[str] = []
            flow = _EMPTY
            for word in words[1:]:
                arg = self.word(word)
                values.extend(arg.alts)
                flow = flow | arg.flow
            self.vars[words[0].word] = _Var(tuple(values[:16]), flow)
        out = _EMPTY
        for part in node.parts:
            if part.kind not in ("reservedword", "operator", "word"):
                out = out | self.node(part, stdin)
        return out

    def word(self, node: Any) -> _Arg:
        """Evaluate a word: expand the variables we know, collect its substitutions' data."""
        flow = _EMPTY
        out_procs: list[Any] = []
        for part in getattr(node, "parts", None) or []:
            flow = flow | self.word_part(part, out_procs)
        text = str(node.word)
        alts = self.expand(text)
        echoed = _ECHO_SUBST.fullmatch(text)
        if echoed:  # ``$(echo PATH)`` names PATH
            alts = alts + self.expand(echoed.group(1).strip("'\""))
        for name in _var_names(text):
            var = self.vars.get(name)
            if var is not None:
                flow = flow | var.flow
            elif _SECRET_VARIABLE.search(name):
                flow = flow | self.read_path((ENVIRONMENT,))
        return _Arg(alts[0], alts, flow, tuple(out_procs))

    def word_part(self, part: Any, out_procs: list[Any]) -> _Flow:
        if part.kind == "commandsubstitution":
            return self.node(part.command, _EMPTY)
        if part.kind == "processsubstitution":
            source = getattr(part, "command", None)
            if source is None:
                return _EMPTY
            # ``>(cmd)`` receives what the outer command writes, known only later; bashlex
            # does not record the direction, the command text does.
            text_start = getattr(part, "pos", (0, 0))[0]
            if self._source_text[text_start : text_start + 2] == ">(":
                out_procs.append(source)
                return _EMPTY
            return self.node(source, _EMPTY)
        flow = _EMPTY
        for sub in getattr(part, "parts", None) or []:
            flow = flow | self.word_part(sub, out_procs)
        return flow

    def expand(self, text: str) -> tuple[str, ...]:
        """The word's text with known variables replaced: one text per known value."""
        if "$" not in text:
            return (text,)
        results = [text]
        for match in list(_VAR_REF.finditer(text)):
            name = match.group(1) or match.group(2)
            var = self.vars.get(name)
            if var is None or not var.values:
                continue
            results = [r.replace(match.group(0), v, 1) for r in results for v in var.values][:16]
        return tuple(results)

    # -- simple commands --

    def command(self, node: Any, stdin: _Flow) -> _Flow:
        args: list[_Arg] = []
        redirects: list[Any] = []
        assignments: list[Any] = []
        for part in node.parts:
            if part.kind == "word":
                args.append(self.word(part))
            elif part.kind == "redirect":
                redirects.append(part)
            elif part.kind == "assignment":
                assignments.append(part)
        for assignment in assignments:
            self.assign(assignment)
        for redirect in redirects:
            stdin = stdin | _redirect_in(self, redirect)
        args, via_xargs = _strip_wrappers(args)
        if not args:
            return _redirect_out(self, redirects, stdin if redirects else _EMPTY)
        out = _simple(self, args, stdin, via_xargs, redirects)
        for arg in args:
            for proc in arg.out_procs:
                self.node(proc, out)
        return _redirect_out(self, redirects, out)

    def assign(self, node: Any) -> None:
        text = str(node.word)
        name, _, value = text.partition("=")
        name = name.rstrip("+")
        flow = _EMPTY
        for part in getattr(node, "parts", None) or []:
            flow = flow | self.word_part(part, [])
        for ref in _var_names(value):
            var = self.vars.get(ref)
            if var is not None:
                flow = flow | var.flow
        if value.startswith("(") and value.endswith(")"):
            value = value[1:-1]
        self.vars[name] = _Var(self.expand(value), flow)

    # -- helpers with state --

    def sink(self, name: str, data: _Flow) -> None:
        self.found.add(self.found.sinks, name)
        if data.creds:
            self.found.exfil = True

    def credential_ids(self, path: str) -> tuple[str, ...]:
        cached = self._cred_cache.get(path)
        if cached is not None:
            return cached
        ident = self.is_credential(path)
        result: tuple[str, ...] = (ident,) if ident else ()
        self._cred_cache[path] = result
        return result

    def read_path(self, alts: Iterable[str], recursive: bool = False) -> _Flow:
        """A command reads these paths: record credential reads, return the data they carry."""
        flow = _EMPTY
        for raw in alts:
            if not raw or (raw.startswith("-") and raw != "-"):
                continue
            path = normalise_path(raw, self.cwd)
            written = self.files.get(path)
            if written is not None:
                flow = flow | written
            creds: list[str] = list(self.credential_ids(path))
            if path != raw and not raw.startswith(("$", "~")):
                creds.extend(self.credential_ids(normalise_path(raw)))
            if not creds and ("/" in path or path.startswith("~") or _GLOB_CHARS.search(path)):
                creds.extend(self._probe(path, recursive))
            for cred in creds:
                self.found.add(self.found.reads, cred)
            if creds:
                flow = flow | _Flow(frozenset(creds))
        return flow

    def _probe(self, path: str, recursive: bool) -> list[str]:
        """Credentials a glob or (for recursive tools) a folder covers."""
        if recursive and path in ("/", "/home", "/Users"):
            # Every home: root's, and the users' (any one of them stands for all).
            homes = ["/root", "/Users/user" if path == "/Users" else "/home/user"]
            return [c for home in homes for c in self._probe(home, True)]
        match = _HOME_PREFIX.match(path)
        if not match:
            return []
        home = match.group(0)
        is_glob = bool(_GLOB_CHARS.search(path))
        if not is_glob and not recursive:
            return []
        found: list[str] = []
        prefix = path.rstrip("/") + "/"
        for known in _WELL_KNOWN:
            candidate = home + "/" + known
            if (
                (is_glob and fnmatchcase(candidate, path))
                or (not is_glob and candidate.startswith(prefix))
                or (is_glob and recursive and fnmatchcase(candidate, path.rstrip("/") + "/*"))
            ):
                found.extend(self.credential_ids(candidate))
        return found

    def wrote(self, raw: str) -> None:
        """The command writes the file `raw` (whatever the data)."""
        if raw and raw != "-" and not raw.startswith("/dev/"):
            self.found.add(self.found.writes, normalise_path(raw, self.cwd))

    def taint_file(self, raw: str, flow: _Flow) -> None:
        if not raw or raw == "-" or flow == _EMPTY:
            return
        path = normalise_path(raw, self.cwd)
        self.files[path] = self.files.get(path, _EMPTY) | flow
