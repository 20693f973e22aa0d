"""The fallback when bashlex cannot be used: a conservative scan of the tokens."""

from __future__ import annotations

import posixpath
import re
from typing import TYPE_CHECKING

from triage.shell.code import _inline_code
from triage.shell.flow import _EMPTY, _Arg, _Flow, _Var
from triage.shell.network import _network
from triage.shell.tables import (
    _CODE_FLAGS,
    _DOWNLOADERS,
    _ENCODERS,
    _INTERPRETERS,
    _METADATA,
    _NETWORK,
    _RECURSIVE,
    _SHELLS,
    _SOURCERS,
)
from triage.shell.words import _path_operands, _strip_wrappers

if TYPE_CHECKING:
    from triage.shell.walker import _Walker


def _scan(walker: _Walker, source: str) -> _Flow:
    """Token scan for what bashlex cannot parse: every read may flow into every sink."""
    text = re.sub(r"\$\(|`|<\(|>\(|\)|\|\||&&|[|;&\n]", " ; ", source)
    tokens = text.replace("'", "").replace('"', "").split()
    segments: list[list[str]] = [[]]
    for token in tokens:
        if token == ";":
            segments.append([])
        else:
            segments[-1].append(token)
    flow = _EMPTY
    found = walker.found
    saw_download = False
    for segment in segments:
        args = [_Arg(t, walker.expand(t), _EMPTY) for t in segment]
        for arg in args:
            if "=" in arg.text and re.match(r"^[A-Za-z_]\w*=", arg.text):
                name, _, value = arg.text.partition("=")
                walker.vars[name] = _Var(walker.expand(value), flow)
        args, _ = _strip_wrappers([a for a in args if not re.match(r"^[A-Za-z_]\w*=", a.text)])
        if not args:
            continue
        name = posixpath.basename(args[0].text)
        if name in _ENCODERS:
            found.add(found.encoders, name)
        if name not in _METADATA:
            for arg in args[1:]:
                flow = flow | walker.read_path(_path_operands(arg.alts), name in _RECURSIVE)
        if name in _DOWNLOADERS:
            saw_download = True
        if (name in _SHELLS or name in _INTERPRETERS or name in _SOURCERS) and saw_download:
            found.runs_download = True
        if name in _INTERPRETERS:
            for index, arg in enumerate(args[1:-1], start=1):
                if arg.text in _CODE_FLAGS[_INTERPRETERS[name]]:
                    flow = _inline_code(walker, name, args[index + 1].text, flow)
        elif name in _NETWORK:
            flow = _network(walker, name, args[1:], flow)
    for match in re.finditer(r"/dev/(tcp|udp)/([^/\s]+)/", source):
        found.add(found.dests, match.group(2).lower())
        walker.sink("/dev/" + match.group(1), flow)
    if found.sinks and found.reads:
        found.exfil = True
    return flow
