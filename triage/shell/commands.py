"""One simple command after its wrappers: what it reads, writes, sends and runs.

``_simple`` decides which kind of tool the command is and hands shells, interpreters
and network tools to their handlers; ``git`` and nested shells are handled here.
"""

from __future__ import annotations

import posixpath
import re
from typing import TYPE_CHECKING, Any

from triage.shell.code import _interpreter
from triage.shell.flow import _EMPTY, _Arg, _Flow, _Var
from triage.shell.git import _gh_push, _git_effects, _git_words
from triage.shell.host import _host_reach
from triage.shell.network import _network
from triage.shell.tables import (
    _COMPRESSED_SUFFIXES,
    _ENCODERS,
    _FILE_WRITERS,
    _GIT_REPOSITORY,
    _INTERPRETERS,
    _MAX_DEPTH,
    _METADATA,
    _NETWORK,
    _RECURSIVE,
    _RECURSIVE_WITH_FLAG,
    _SHELLS,
    _SOURCERS,
    _TEXT_ONLY,
    _URL,
    ENVIRONMENT,
)
from triage.shell.words import (
    _carries_out,
    _credential_command,
    _dumps_environment,
    _host,
    _identity_values,
    _path_operands,
    _write_targets,
    normalise_path,
)

if TYPE_CHECKING:
    from triage.shell.walker import _Walker


def _simple(
    walker: _Walker, args: list[_Arg], stdin: _Flow, via_xargs: bool, redirects: list[Any]
) -> _Flow:
    """One command after its wrappers: reads, sinks, encoders, downloads, runs."""
    found = walker.found
    raw_name = args[0].text
    name = posixpath.basename(raw_name.lstrip("\\"))
    rest = args[1:]
    words = [a.text for a in rest]
    arg_flow = _EMPTY
    for arg in rest:
        arg_flow = arg_flow | arg.flow
    if via_xargs:
        arg_flow = arg_flow | stdin

    if name in walker.functions and walker.depth < _MAX_DEPTH:
        walker.depth += 1
        try:
            return walker.node(walker.functions[name], stdin | arg_flow)
        finally:
            walker.depth -= 1

    if name in ("cd", "pushd") and len(words) == 1 and words[0] != "-":
        walker.cwd = normalise_path(rest[0].text, walker.cwd)
        return _EMPTY
    if name == "su":  # `su -c CMD [user]`: CMD runs in a shell, as that user
        for index, word in enumerate(words[:-1]):
            if word in ("-c", "--command") and walker.depth < _MAX_DEPTH:
                return walker.nested(words[index + 1], stdin | rest[index + 1].flow)
    dumps_environment = _dumps_environment(name, words)
    if name in ("export", "declare", "local", "readonly", "typeset") and not dumps_environment:
        for arg in rest:
            if "=" in arg.text and not arg.text.startswith("-"):
                var_name, _, _ = arg.text.partition("=")
                values = tuple(a.partition("=")[2] for a in arg.alts)
                walker.vars[var_name] = _Var(values, arg.flow)
        return _EMPTY
    if name in ("read", "mapfile", "readarray"):
        for word in words:
            if not word.startswith("-") and re.fullmatch(r"[A-Za-z_]\w*", word):
                walker.vars[word] = _Var((), stdin)
        return _EMPTY

    if dumps_environment:
        stdin = stdin | walker.read_path((ENVIRONMENT,))
    secret_source = _credential_command(name, words)
    if secret_source is not None:
        # The command prints a stored credential: it reads that store.
        stdin = stdin | walker.read_path((secret_source,))

    if name in _ENCODERS or (_INTERPRETERS.get(name) == "python" and "base64" in words):
        found.add(found.encoders, name)

    # Files the command reads: credentials (recorded) and files written earlier.
    identity = _identity_values(name, words)
    skip = _write_targets(name, words)
    read_flow = _EMPTY
    if name not in _METADATA or (name == "find" and ("-exec" in words or "-execdir" in words)):
        recursive = name in _RECURSIVE or (
            name in _RECURSIVE_WITH_FLAG
            and any(re.fullmatch(r"-[a-zA-Z]*[rRa][a-zA-Z]*|--recursive|-exec", w) for w in words)
        )
        for index, arg in enumerate(rest):
            if index in skip:
                continue
            flow = walker.read_path(_path_operands(arg.alts), recursive)
            if index in identity:
                continue  # an ssh identity is used to log in, not sent
            read_flow = read_flow | flow
    data = stdin | arg_flow | read_flow
    if name == "git":
        data = _git(walker, words, data)
    elif name in _HOST_REACH:
        _host_reach(walker, name, words)
    elif name == "gh":
        _gh_push(walker, words)
    elif name == "crontab" and words and words[-1] not in ("-l", "-r", "-e"):
        walker.wrote("/var/spool/cron/crontabs/user")  # installs the user's crontab
    _record_writes(walker, name, words, skip)

    out = data
    if name in _SHELLS or name in _SOURCERS:
        out = _shell(walker, name, rest, stdin, data)
    elif name in _INTERPRETERS:
        out = _interpreter(walker, _INTERPRETERS[name], name, rest, stdin, data, redirects)
    elif (
        raw_name.startswith(("./", "/", "~"))
        and walker.files.get(normalise_path(raw_name, walker.cwd), _EMPTY).remote
    ):
        found.runs_download = True
    elif name in _NETWORK:
        out = _network(walker, name, rest, data)
    elif name == "tee":
        for arg in rest:
            if not arg.text.startswith("-"):
                for alt in arg.alts:
                    walker.taint_file(alt, data)
    if name not in _TEXT_ONLY and name not in ("curl", "wget") and _carries_out(name, words):
        for word in words:
            for match in _URL.finditer(word):
                if match.group(1).lower() not in ("s3", "gs", "file"):
                    found.add(found.dests, _host(match.group(2)))
    if name in _FILE_WRITERS and data != _EMPTY and name != "tee":
        for index, arg in enumerate(rest):
            for candidate in _path_operands(arg.alts):
                if index in skip or not walker.credential_ids(candidate):
                    walker.taint_file(candidate, data)
                    for suffix in _COMPRESSED_SUFFIXES:
                        walker.taint_file(candidate + suffix, data)
        if name in ("cp", "mv", "install") and len(rest) >= 2:
            # copied into a folder: the copy keeps its name there
            folder = rest[-1].text.rstrip("/") or "/"
            for arg in rest[:-1]:
                if not arg.text.startswith("-"):
                    walker.taint_file(f"{folder}/{posixpath.basename(arg.text)}", data)
    return out


def _record_writes(walker: _Walker, name: str, words: list[str], targets: set[int]) -> None:
    """The files a command writes, whatever it writes into them (see `redirects` for
    ``>``): a copy's, link's or download's target, ``tee``, ``sed -i``, ``chmod +x``."""
    for index in targets:
        if index < len(words):
            word = words[index]
            walker.wrote(word[3:] if name == "dd" and word.startswith("of=") else word)
    if name == "tee":
        for word in words:
            if not word.startswith("-"):
                walker.wrote(word)
    elif name == "sed" and any(w.startswith("-i") or w.startswith("--in-place") for w in words):
        operands: list[str] = []
        scripted = False
        for index, word in enumerate(words):
            if word in ("-e", "-f", "--expression", "--file"):
                scripted = True
            elif not word.startswith("-") and words[index - 1 : index] not in (["-e"], ["-f"]):
                operands.append(word)
        for word in operands if scripted else operands[1:]:
            walker.wrote(word)
    elif name in ("curl", "wget"):  # `-sSLo FILE`, `-qO FILE`: the output option bundled
        bundled = _CURL_OUTPUT if name == "curl" else _WGET_OUTPUT
        for index, word in enumerate(words[:-1]):
            if bundled.fullmatch(word) and index + 1 not in targets:
                walker.wrote(words[index + 1])
    elif name == "chmod" and words and _EXECUTABLE.search(words[0]):
        for word in words[1:]:
            if not word.startswith("-"):
                walker.wrote(word)


_HOST_REACH = frozenset(["docker", "podman", "nerdctl", "finch", "lima-nerdctl", "nsenter", "curl"])
_CURL_OUTPUT = re.compile(r"-[a-zA-Z]+o")
_WGET_OUTPUT = re.compile(r"-[a-zA-Z]+O")
_EXECUTABLE = re.compile(r"^[ugoa]*\+[rwxXst]*x|^[0-7]?[0-7]*[1357][0-7]{0,2}$")


def _git(walker: _Walker, words: list[str], data: _Flow) -> _Flow:
    """What ``git add``/``commit`` put into the repository, ``git push`` sends; and what
    it configures, which remotes it sets and where it pushes (``git._git_effects``)."""
    sub, words, options = _git_words(words)
    _git_effects(walker, sub, words, options)
    operands = [sub, *(w for w in words if not w.startswith("-"))] if sub else []
    if sub in ("add", "commit", "stash"):
        everything = any(w in (".", "-A", "--all", "*") for w in words)
        for path, flow in walker.files.items():
            inside = any(path.startswith(normalise_path(o, walker.cwd) + "/") for o in operands[1:])
            if sub == "add" and (everything or inside):
                data = data | flow  # what was written there goes in
        if sub == "commit" and any(re.fullmatch(r"-[a-zA-Z]*a[a-zA-Z]*", w) for w in words):
            for flow in walker.files.values():
                data = data | flow
        walker.taint_file(_GIT_REPOSITORY, data)
    elif sub in ("push", "send-email"):
        data = data | walker.files.get(_GIT_REPOSITORY, _EMPTY)
    return data


# -- the kinds of commands --


def _shell(walker: _Walker, name: str, rest: list[_Arg], stdin: _Flow, data: _Flow) -> _Flow:
    found = walker.found
    if name in _SOURCERS:
        if data.remote or any(
            walker.files.get(normalise_path(a.text, walker.cwd), _EMPTY).remote for a in rest
        ):
            found.runs_download = True
        if name == "eval" and rest:
            return walker.nested(" ".join(a.text for a in rest), stdin)
        return data
    operands = [a for a in rest if not a.text.startswith("-")]
    words = [a.text for a in rest]
    if "-c" in words or any(re.fullmatch(r"-[a-z]*c[a-z]*", w) for w in words):
        script_index = next(i for i, w in enumerate(words) if re.fullmatch(r"-[a-z]*c[a-z]*", w))
        if script_index + 1 < len(rest):
            script = rest[script_index + 1]
            if script.flow.remote:
                found.runs_download = True
            return walker.nested(script.text, stdin) | script.flow
        return data
    if not operands or "-s" in words or (operands and operands[0].text == "-"):
        if stdin.remote:
            found.runs_download = True
        return data
    first = operands[0]
    if first.flow.remote or walker.files.get(normalise_path(first.text, walker.cwd), _EMPTY).remote:
        found.runs_download = True
    return data
