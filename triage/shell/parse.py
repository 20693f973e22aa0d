"""Shell text to nodes: a quick parser for simple commands, bashlex for the rest.

Both give nodes of the same shape (``kind``, ``parts``, ``word``, ...), which the walk
reads without knowing which parser made them.
"""

from __future__ import annotations

import re
from typing import Any

import bashlex

from triage.shell.tables import _ASSIGNMENT, _names

# Commands longer than this are not parsed (bashlex is slow on huge input); they get the
# conservative token scan, which can only over-report.
MAX_PARSE_CHARS = 64 * 1024


class _Node:
    """A parse node shaped like bashlex's, built by the quick parser."""

    def __init__(self, kind: str, **fields: Any) -> None:
        self.kind = kind
        self.__dict__.update(fields)


# Commands made only of words, plain variables (``$X``, ``${X}``), quotes, pipes, lists
# and plain redirects are what agents mostly run; they are parsed here, many times faster
# than bashlex, into the same node shapes. Anything else (other ``$`` forms, backquotes,
# parentheses, braces, backslashes, comments, reserved words, here-documents) goes to
# bashlex. A test checks that both give the same answers on every table and corpus command.
_QUICK_TOKEN = re.compile(
    r"""(?P<space>[ \t]+)
      |(?P<op>&&|\|\||;|\||&|\n)
      |(?P<dup>\d*>&\d+)
      |(?P<redir>\d*>>|\d*>|&>>|&>|\d*<(?!<))
      |(?P<word>(?:[^\s'"|&;<>()$`\\#{}!]|'[^']*'|"(?:[^"$`\\!]|\$(?:[A-Za-z_]\w*|\{[A-Za-z_]\w*\}))*"
                  |\$(?:[A-Za-z_]\w*|\{[A-Za-z_]\w*\}))+)
    """,
    re.VERBOSE,
)
_QUOTED = re.compile(r"'([^']*)'|\"([^\"]*)\"")
_RESERVED = _names(
    "if then else elif fi for while until do done case esac function select time coproc [[ ]] { } !"
)


def _quick_parse(source: str) -> list[Any] | None:
    """Parse the simple subset of shell into bashlex-shaped nodes, or None if it is not."""
    pipelines: list[Any] = []
    pipeline: list[Any] = []
    parts: list[Any] = []
    redirect: str | None = None
    named = False  # the command has its name: later NAME=value words are arguments
    position = 0
    while position < len(source):
        match = _QUICK_TOKEN.match(source, position)
        if match is None:
            return None
        position = match.end()
        kind, text = match.lastgroup, match.group()
        if kind == "space":
            continue
        if redirect is not None and kind != "word":
            return None
        if kind == "word":
            word = text
            if "'" in text or '"' in text:
                word = _QUOTED.sub(lambda m: m.group(1) or m.group(2) or "", text)
            if redirect is not None:
                fd = redirect.rstrip("<>&")
                rtype = redirect[len(fd) :]
                target = _Node("word", word=word, parts=[])
                parts.append(_Node("redirect", type=rtype, input=int(fd) if fd else None,
                                   output=target))  # fmt: skip
                redirect = None
            elif not named and word in _RESERVED:
                return None
            elif not named and _ASSIGNMENT.match(text):
                parts.append(_Node("assignment", word=word, parts=[]))
            else:
                parts.append(_Node("word", word=word, parts=[]))
                named = True
        elif kind == "dup":
            fd, _, target_fd = text.partition(">&")
            parts.append(_Node("redirect", type=">&", input=int(fd) if fd else 1,
                               output=int(target_fd)))  # fmt: skip
        elif kind == "redir":
            redirect = text
        else:  # an operator ends a command
            if parts:
                pipeline.append(_Node("command", parts=parts))
                parts, named = [], False
            elif text not in ("\n", ";", "&") or pipeline:
                return None
            if text != "|" and pipeline:
                pipelines.append(pipeline)
                pipeline = []
    if redirect is not None:
        return None
    if parts:
        pipeline.append(_Node("command", parts=parts))
    elif pipeline:
        return None  # a trailing pipe
    if pipeline:
        pipelines.append(pipeline)
    return [p[0] if len(p) == 1 else _Node("pipeline", parts=p) for p in pipelines]


def _parse(source: str) -> list[Any]:
    """bashlex's parse, refusing the input it is known to loop forever on."""
    for match in _BRACE_PARAM.finditer(source):
        # bashlex looks for the closing brace within the word and, when it is missing,
        # starts the word over (an endless loop); only plain ``${...}`` goes to it.
        if not _BRACE_PARAM_SAFE.match(source, match.start()):
            raise ValueError("unclosed ${ in a word")
    return list(bashlex.parse(source))


_BRACE_PARAM = re.compile(r"\$\{")
_BRACE_PARAM_SAFE = re.compile(r"\$\{[^{}\s;|&<>()'\"`$]*\}")


def _prepare(source: str) -> str:
    """Rewrite what bashlex cannot parse into what it can, without changing the data flow.

    Quoted here-document delimiters lose their quotes (the body then counts as expanded,
    which only adds flow), ``time`` goes, ``[[ ]]`` becomes ``[ ]`` and arithmetic
    expansions become a number.
    """
    source = re.sub(r"<<(-?)\s*(['\"])(\w+)\2", r"<<\1\3", source)
    source = re.sub(r"(^|[;&|(]\s*)time\s+(?:-p\s+)?", r"\1", source)
    source = source.replace("[[", "[ ").replace("]]", " ]")
    return re.sub(r"\$\(\([^()]*\)\)", "0", source)
