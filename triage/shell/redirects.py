"""Redirects: what they feed into a command, and where its output goes.

Files take the data written to them (a later read of the file carries it on), and a
``/dev/tcp`` or ``/dev/udp`` target is a network sink whose host is a destination.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from triage.shell.flow import _EMPTY, _REMOTE, _Flow
from triage.shell.tables import _DEV_NET
from triage.shell.words import _var_names

if TYPE_CHECKING:
    from triage.shell.walker import _Walker


def _redirect_in(walker: _Walker, node: Any) -> _Flow:
    """Data a redirect feeds into the command (and network fds it opens)."""
    rtype = node.type
    target = node.output
    if rtype == "<<":
        heredoc = getattr(node, "heredoc", None)
        body = str(heredoc.value) if heredoc is not None else ""
        return _heredoc(walker, body)
    if isinstance(target, int) or target is None:
        return _EMPTY
    arg = walker.word(target)
    if rtype == "<<<":
        return arg.flow
    if rtype in ("<", "<>"):
        net = _DEV_NET.match(arg.text)
        if net:
            walker.found.add(walker.found.sinks, "/dev/" + net.group(1))
            walker.found.add(walker.found.dests, net.group(2).lower())
            if isinstance(node.input, int):
                walker.net_fds.add(node.input)
            return _REMOTE
        return arg.flow | walker.read_path(arg.alts)
    return _EMPTY


def _heredoc(walker: _Walker, body: str) -> _Flow:
    lines = body.split("\n")
    if len(lines) > 1:
        body = "\n".join(lines[:-1])  # bashlex keeps the delimiter line
    flow = _EMPTY
    for name in _var_names(body):
        var = walker.vars.get(name)
        if var is not None:
            flow = flow | var.flow
    for match in re.finditer(r"\$\(([^()]*)\)|`([^`]*)`", body):
        flow = flow | walker.nested(match.group(1) or match.group(2) or "", _EMPTY)
    return flow


def _redirect_out(walker: _Walker, redirects: Sequence[Any], out: _Flow) -> _Flow:
    """Send ``out`` where the output redirects point; returns what still goes to stdout."""
    to_stdout = out
    for node in redirects:
        rtype = node.type
        target = node.output
        source_fd = node.input if isinstance(node.input, int) else 1
        if rtype in (">&", "<&") and isinstance(target, int):
            if target in walker.net_fds:
                walker.sink("/dev/tcp", out)
            continue
        if rtype not in (">", ">>", ">|", "&>", "&>>", ">&", "<>") or target is None:
            continue
        if isinstance(target, int):
            continue
        arg = walker.word(target)
        net = _DEV_NET.match(arg.text)
        if net:
            walker.found.add(walker.found.dests, net.group(2).lower())
            walker.sink("/dev/" + net.group(1), out)
            if source_fd not in (0, 1, 2):
                walker.net_fds.add(source_fd)
            if source_fd == 1 or rtype in ("&>", "&>>"):
                to_stdout = _EMPTY
            continue
        if arg.text in ("/dev/null", "/dev/stderr", "/dev/stdout"):
            if source_fd == 1 and arg.text == "/dev/null":
                to_stdout = _EMPTY
            continue
        for alt in arg.alts:
            walker.wrote(alt)
        if source_fd == 1 or rtype in ("&>", "&>>"):
            for alt in arg.alts:
                walker.taint_file(alt, out)
            to_stdout = _EMPTY
    return to_stdout
