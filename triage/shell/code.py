"""Inline programs (``python -c``, ``node -e``, ``perl -e``, ...): reads, network, shell-outs.

The program text is not run or parsed: its string literals are taken as the paths it
may open and the commands it may run, and patterns tell network use and encoding.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from triage.shell.flow import _EMPTY, _REMOTE, _Arg, _Flow
from triage.shell.tables import _CODE_FLAGS, _URL
from triage.shell.words import _host, normalise_path

if TYPE_CHECKING:
    from triage.shell.walker import _Walker

# The program is never parsed: these patterns over its text, the same for every language,
# tell what it does.
_CODE_NET = re.compile(
    r"urllib|urlopen|\brequests\b|http\.client|httplib|\bsocket\b|\bhttpx\b|aiohttp|smtplib|"
    r"ftplib|paramiko|\bfetch\s*\(|XMLHttpRequest|\bhttps?\.(?:request|get|post)|"
    r"require\(\s*['\"](?:node:)?(?:https?|net|tls|dgram|axios|node-fetch|got)['\"]\s*\)|"
    r"\bnet\.(?:connect|Socket|createConnection)|\btls\.connect|\baxios\b|WebSocket|LWP|"
    r"HTTP::Tiny|IO::Socket|Net::HTTP|open-uri|TCPSocket|UDPSocket|Net::SMTP|curl_exec|"
    r"fsockopen|stream_socket_client|file_get_contents\s*\(\s*['\"]https?:|Deno\.connect",
)
_CODE_EXEC = re.compile(
    r"\bexec\s*\(|\beval\s*\(|\bFunction\s*\(|\bsubprocess\b|os\.system|"
    r"\bsystem\s*\(|child_process|execSync|spawnSync|popen|`"
)
_CODE_SHELL = re.compile(
    r"os\.system|subprocess|popen|child_process|execSync|spawnSync|"
    r"\bsystem\s*\(|\bexec\s*\(|`"
)
_CODE_ENCODE = re.compile(
    r"b64encode|base64|btoa\s*\(|encode_base64|Base64|hexlify|zlib|gzip|"
    r"\.hex\(\)|toString\(\s*['\"]hex"
)
_CODE_HOME = re.compile(r"expanduser|Path\.home|homedir|\bHOME\b|getenv\(\s*['\"]HOME|ENV\[")
_CODE_HOME_PREFIX = re.compile(
    r"^(?:\$ENV\{HOME\}|\$\{HOME\}|\$HOME|#\{Dir\.home\}|#\{ENV\[.HOME.\]\}|\$\{os\.homedir\(\)\}|%USERPROFILE%)"
)
_HOST_PORT = re.compile(
    r"^((?:\d{1,3}\.){3}\d{1,3}|[a-zA-Z0-9-]+(?:\.[a-zA-Z0-9-]+)*\.[a-zA-Z]{2,}):\d{1,5}$"
)
_CODE_STRING = re.compile(
    r"'((?:[^'\\\n]|\\.){1,400})'|\"((?:[^\"\\\n]|\\.){1,400})\"|`([^`]{1,400})`"
)


def _interpreter(
    walker: _Walker,
    lang: str,
    name: str,
    rest: list[_Arg],
    stdin: _Flow,
    data: _Flow,
    redirects: list[Any],
) -> _Flow:
    found = walker.found
    words = [a.text for a in rest]
    flags = _CODE_FLAGS[lang]
    code: str | None = None
    code_flow = _EMPTY
    for index, word in enumerate(words):
        if word in flags and index + 1 < len(rest):
            code = rest[index + 1].text
            code_flow = rest[index + 1].flow
            break
        if lang == "perl" and re.fullmatch(r"-[a-zA-Z]*[eE]", word) and index + 1 < len(rest):
            code = rest[index + 1].text
            code_flow = rest[index + 1].flow
            break
    if code is None:
        for redirect in redirects:
            if redirect.type == "<<" and getattr(redirect, "heredoc", None) is not None:
                code = "\n".join(str(redirect.heredoc.value).split("\n")[:-1])
    if code is None:
        operands = [a for a in rest if not a.text.startswith("-")]
        if operands and operands[0].text != "-":
            first = operands[0]
            if (
                first.flow.remote
                or walker.files.get(normalise_path(first.text, walker.cwd), _EMPTY).remote
            ):
                found.runs_download = True
        elif stdin.remote:
            found.runs_download = True
        return data
    if code_flow.remote:
        found.runs_download = True
    return _inline_code(walker, name, code, data)


def _inline_code(walker: _Walker, name: str, code: str, data: _Flow) -> _Flow:
    """Inline program text (python -c, node -e, …): its reads, network use and shell-outs."""
    found = walker.found
    matches = _CODE_STRING.finditer(code)
    literals = [next(g for g in m.groups() if g is not None) for m in matches][:200]
    reads = _EMPTY
    candidates = list(literals)
    if _CODE_HOME.search(code):
        for lit in literals:
            if lit.startswith(("/.", ".")) or lit.startswith("Library/"):
                candidates.append("~/" + lit.lstrip("/"))
        for size in (2, 3):
            for start in range(len(literals) - size + 1):
                group = [s.strip("/") for s in literals[start : start + size]]
                candidates.append("~/" + "/".join(group))
    for lit in literals:
        home = _CODE_HOME_PREFIX.match(lit)
        if home:
            candidates.append("~" + lit[home.end() :])
        endpoint = _HOST_PORT.match(lit)
        if endpoint:
            found.add(found.dests, _host(endpoint.group(1)))
    for lit in candidates:
        if "/" in lit or lit.startswith((".", "~")):
            reads = reads | walker.read_path((lit,))
    if _CODE_ENCODE.search(code):
        found.add(found.encoders, "base64" if re.search("b64|base64|btoa|Base64", code) else name)
    if _CODE_SHELL.search(code):
        for lit in literals:
            if " " in lit and len(lit) < 400:
                reads = reads | walker.nested(lit, _EMPTY)
    flow = data | reads
    for match in _URL.finditer(code):
        found.add(found.dests, _host(match.group(2)))
    if _CODE_NET.search(code):
        walker.sink(name, flow)
        if _CODE_EXEC.search(code):
            found.runs_download = True
        flow = flow | _REMOTE
    return flow
