"""Network tools: where they go, whether they send, and what they download.

A plain download is not a sink; what it saves is marked as remote, so that running
it later counts as running a download.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from triage.shell.flow import _EMPTY, _REMOTE, _Arg, _Flow
from triage.shell.tables import (
    _CLOUD_COPY,
    _CURL_DATA,
    _CURL_SHORT_VALUE,
    _CURL_VALUE,
    _DNS_LIKE,
    _FILE_TRANSFER,
    _HOSTLIKE,
    _MAIL,
    _NC_VALUE,
    _RAW_SOCKETS,
    _REMOTE_SPEC,
    _SOCAT_ADDR,
    _SSH_VALUE,
    _WGET_SEND,
    _WGET_VALUE,
)
from triage.shell.words import (
    _carries_out,
    _cloud_copy,
    _host,
    _operands,
    _option,
    _url_basename,
    _url_host,
)

if TYPE_CHECKING:
    from triage.shell.walker import _Walker


def _network(walker: _Walker, name: str, rest: list[_Arg], data: _Flow) -> _Flow:
    """Network tools: where they go, whether they send, what they download."""
    found = walker.found
    words = [a.text for a in rest]
    sends = False
    out = data
    if name == "curl":
        sends, out = _curl(walker, rest)
    elif name == "wget":
        sends, out = _wget(walker, rest)
    elif name in ("http", "https", "xh", "xhs"):
        sends = _httpie(walker, words)
        out = _REMOTE
    elif name in _RAW_SOCKETS:
        sends = True
        if name == "socat":
            for word in words:
                match = _SOCAT_ADDR.match(word)
                if match:
                    found.add(found.dests, _host(match.group(1)))
        else:
            operands = _operands(words, _NC_VALUE)
            if operands and not operands[0].isdigit():
                found.add(found.dests, _host(operands[0]))
        out = data | _REMOTE
    elif name == "ssh" or name == "sftp":
        sends = True
        operands = _operands(words, _SSH_VALUE)
        if operands:
            found.add(found.dests, _host(operands[0].rpartition("@")[2].partition(":")[0]))
        out = data | _REMOTE
    elif name in ("scp", "rsync"):
        operands = _operands(words, _SSH_VALUE)
        remotes = [w for w in operands if _REMOTE_SPEC.match(w) or w.startswith("rsync://")]
        for remote in remotes:
            match = _REMOTE_SPEC.match(remote)
            found.add(found.dests, _host(match.group(1)) if match else _url_host(remote))
        sends = bool(operands) and operands[-1] in remotes
    elif name in _MAIL or name in _FILE_TRANSFER:
        sends = True
        for word in _operands(words, set()):
            if _HOSTLIKE.match(word):
                found.add(found.dests, word.lower())
    elif name in _CLOUD_COPY:
        sends, dests = _cloud_copy(name, words)
        for dest in dests:
            found.add(found.dests, dest)
    elif name == "openssl":
        if "s_client" in words:
            sends = True
            for index, word in enumerate(words):
                if word == "-connect" and index + 1 < len(words):
                    found.add(
                        found.dests,
                        _host(words[index + 1].rpartition(":")[0] or words[index + 1]),
                    )
    elif name in _DNS_LIKE:
        for word in _operands(words, {"-t", "-p", "-c", "-W", "-i", "-q", "-type"}):
            if _HOSTLIKE.match(word.lstrip("@")):
                found.add(found.dests, word.lstrip("@").lower())
    if sends or (data.creds and _carries_out(name, words)):
        walker.sink(name, data)
    return out


def _curl(walker: _Walker, rest: list[_Arg]) -> tuple[bool, _Flow]:
    found = walker.found
    sends = False
    urls: list[str] = []
    out_file: str | None = None
    remote_name = False
    index = 0
    while index < len(rest):
        word = rest[index].text
        option, value, consumed = _option(word, rest, index, _CURL_VALUE, _CURL_SHORT_VALUE)
        if option is None:
            urls.append(word)
        elif option in _CURL_DATA or (
            option in ("-X", "--request") and (value or "").upper() in ("POST", "PUT", "PATCH")
        ):
            sends = True
        elif option in ("-o", "--output") and value is not None:
            out_file = value
        elif option in ("-O", "--remote-name", "--remote-name-all"):
            remote_name = True
        elif option == "--url" and value is not None:
            urls.append(value)
        index += consumed
    for url in urls:
        found.add(found.dests, _url_host(url))
    if out_file and out_file != "-":
        walker.taint_file(out_file, _REMOTE)
        return sends, _EMPTY
    if remote_name:
        for url in urls:
            walker.taint_file(_url_basename(url), _REMOTE)
        return sends, _EMPTY
    return sends, _REMOTE


def _wget(walker: _Walker, rest: list[_Arg]) -> tuple[bool, _Flow]:
    found = walker.found
    sends = False
    urls: list[str] = []
    out_file: str | None = None
    index = 0
    while index < len(rest):
        word = rest[index].text
        option, value, consumed = _option(word, rest, index, _WGET_VALUE, set("OoaPUtTei"))
        if option is None:
            urls.append(word)
        elif option in _WGET_SEND or (option == "--method" and (value or "").upper() != "GET"):
            sends = True
        elif option in ("-O", "--output-document") and value is not None:
            out_file = value
        index += consumed
    for url in urls:
        found.add(found.dests, _url_host(url))
    if out_file == "-":
        return sends, _REMOTE
    if out_file:
        walker.taint_file(out_file, _REMOTE)
    else:
        for url in urls:
            walker.taint_file(_url_basename(url), _REMOTE)
    return sends, _EMPTY


def _httpie(walker: _Walker, words: list[str]) -> bool:
    operands = [w for w in words if not w.startswith("-")]
    sends = False
    if operands and operands[0].upper() in ("POST", "PUT", "PATCH", "DELETE", "GET", "HEAD"):
        sends = operands[0].upper() in ("POST", "PUT", "PATCH")
        operands = operands[1:]
    if operands:
        url = operands[0]
        walker.found.add(
            walker.found.dests, _url_host(url if "://" in url else "http://" + url.lstrip(":"))
        )
    for item in operands[1:]:
        if re.match(r"^@|^[^:=@\s]+(:=@|=@|@|:=|==|=)", item):
            sends = True
    return sends
