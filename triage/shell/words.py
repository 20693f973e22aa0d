"""Pure helpers over a command's words: wrappers, options, operands, paths and hosts.

They look only at text; what the words carry, and what the walk knows about files
and variables, stays with the walker.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable, Sequence
from collections.abc import Set as AbstractSet

from triage.shell.flow import _Arg
from triage.shell.tables import (
    _CREDENTIAL_COMMANDS,
    _CREDENTIAL_TOOLS,
    _HOSTLIKE,
    _SHELLS,
    _SOCAT_FILE,
    _SSH_FAMILY,
    _URL,
    _VAR_REF,
    _WRAPPER_OPERAND,
    _WRAPPERS,
)


def normalise_path(path: str, cwd: str | None = None) -> str:
    """``$HOME``, ``${HOME}`` and ``~`` become ``~``; dots and doubled slashes go."""
    path = path.strip()
    if path.startswith("${HOME}"):
        path = "~" + path[7:]
    elif path.startswith("$HOME"):
        path = "~" + path[5:]
    if not path or path == "-":
        return path
    if cwd and not path.startswith(("/", "~")):
        path = cwd.rstrip("/") + "/" + path
    tail = posixpath.normpath(path)
    return "~" if tail == "." and path.startswith("~") else tail


def _var_names(text: str) -> list[str]:
    return [m.group(1) or m.group(2) for m in _VAR_REF.finditer(text)] if "$" in text else []


def _strip_wrappers(args: list[_Arg]) -> tuple[list[_Arg], bool]:
    """Drop ``sudo``, ``env A=b``, ``nohup``, ``xargs -I{}`` … in front of the real command."""
    via_xargs = False
    for _ in range(8):
        if not args:
            break
        name = posixpath.basename(args[0].text.lstrip("\\"))
        if name not in _WRAPPERS:
            break
        if name == "exec" and len(args) == 1:
            break
        if name == "command" and len(args) > 1 and args[1].text in ("-v", "-V"):
            return [], via_xargs
        if name == "busybox" and len(args) > 1 and args[1].text in _SHELLS:
            args = args[1:]
        via_xargs = via_xargs or name == "xargs"
        takes_value = _WRAPPERS[name]
        index = 1
        while index < len(args):
            text = args[index].text
            if name == "env" and "=" in text and not text.startswith("-"):
                index += 1
            elif text == "--":
                index += 1
                break
            elif text.startswith("-") and len(text) > 1:
                index += 2 if text in takes_value else 1
            else:
                break
        index += _WRAPPER_OPERAND.get(name, 0)
        if name == "env" and index >= len(args):
            return args[:1], via_xargs  # ``env`` alone prints the environment
        args = args[index:]
    return args, via_xargs


def _option(
    word: str,
    rest: Sequence[_Arg],
    index: int,
    long_value: AbstractSet[str],
    short_value: AbstractSet[str],
) -> tuple[str | None, str | None, int]:
    """Decode one option at ``rest[index]``: (option, its value, words consumed)."""
    if not word.startswith("-") or word == "-":
        return None, None, 1
    if word.startswith("--"):
        name, eq, value = word.partition("=")
        if eq:
            return name, value, 1
        if name in long_value:
            return name, rest[index + 1].text if index + 1 < len(rest) else None, 2
        return name, None, 1
    if word in long_value:
        return word, rest[index + 1].text if index + 1 < len(rest) else None, 2
    # A bundle of short options: the first one that takes a value takes the remainder.
    for position, letter in enumerate(word[1:], start=1):
        if letter in short_value:
            option = "-" + letter
            remainder = word[position + 1 :]
            if remainder:
                return option, remainder, 1
            return option, rest[index + 1].text if index + 1 < len(rest) else None, 2
    return word, None, 1


def _operands(words: Sequence[str], takes_value: AbstractSet[str]) -> list[str]:
    operands: list[str] = []
    skip = False
    for word in words:
        if skip:
            skip = False
            continue
        if word.startswith("-") and word != "-":
            skip = word in takes_value
            continue
        operands.append(word)
    return operands


def _path_operands(alts: Iterable[str]) -> list[str]:
    """The paths a word may name: ``@file``, ``name=@file``, ``if=file``, ``--opt=file``."""
    paths: list[str] = []
    for text in alts:
        paths.append(text)
        if text.startswith("@"):
            paths.append(text[1:])
        elif "=@" in text or "=<" in text:
            paths.append(text.split("=", 1)[1][1:].split(";", 1)[0])
        elif "=" in text:
            paths.append(text.split("=", 1)[1])
        if "@" in text[1:] and not text.startswith("@"):
            paths.append(text.rsplit("@", 1)[1])  # --data-urlencode name@file
        socat = _SOCAT_FILE.match(text)
        if socat:
            paths.append(socat.group(1))
    return paths


def _identity_values(name: str, words: Sequence[str]) -> set[int]:
    if name not in _SSH_FAMILY and name != "git":
        return set()
    return {i + 1 for i, w in enumerate(words) if w == "-i"} | {
        i for i, w in enumerate(words) if w.startswith("-i") and len(w) > 2
    }


def _write_targets(name: str, words: Sequence[str]) -> set[int]:
    """Indexes of words that a command writes to rather than reads (``curl -o FILE``)."""
    targets: set[int] = set()
    output_options = {
        "curl": {"-o", "--output", "-c", "--cookie-jar", "-D", "--dump-header"},
        "wget": {"-O", "--output-document", "-o", "--output-file"},
        "tar": {"-f", "--file"},
        "openssl": {"-out"},
        "sort": {"-o"},
        "gpg": {"-o", "--output"},
    }.get(name, set())
    for index, word in enumerate(words):
        if word in output_options or (
            name == "tar" and re.fullmatch(r"-?[a-zA-Z]*c[a-zA-Z]*f", word)
        ):
            targets.add(index + 1)
        elif name == "dd" and word.startswith("of="):
            targets.add(index)
    if name in ("cp", "mv", "install", "ln") and len(words) >= 2:
        targets.add(len(words) - 1)
    if name == "zip":
        operands = [i for i, w in enumerate(words) if not w.startswith("-")]
        if operands:
            targets.add(operands[0])
    return targets


def _dumps_environment(name: str, words: Sequence[str]) -> bool:
    """``env``, ``printenv``, ``export -p``, ``set``: the command prints the environment."""
    if name in ("printenv", "env"):
        return True
    if name in ("export", "declare", "typeset"):
        return all(w.startswith("-") for w in words) and any("p" in w or "x" in w for w in words)
    return name == "set" and not words


def _credential_command(name: str, words: Sequence[str]) -> str | None:
    """The credential store a command prints from (``gh auth token``), as a path."""
    if name not in _CREDENTIAL_TOOLS and not name.startswith("docker-credential-"):
        return None
    head = " ".join(w for w in words[:4] if not w.startswith("-"))
    if name == "aws" and head.startswith("configure get"):
        # ``aws configure get region`` is harmless; the key names are not.
        return "~/.aws/credentials" if any("aws_" in w for w in words) else None
    if name == "kubectl" and head.startswith("config view"):
        return "~/.kube/config" if "--raw" in words else None  # redacted otherwise
    for (tool, starts), path in _CREDENTIAL_COMMANDS.items():
        if name == tool and head.startswith(starts):
            return path
    if name.startswith("docker-credential-") and "get" in words:
        return "~/.docker/config.json"
    return None


def _carries_out(name: str, words: Sequence[str]) -> bool:
    """Whether data given to this tool would leave the machine (``openssl enc`` does not)."""
    if name == "openssl":
        return "s_client" in words
    if name == "git":
        return any(
            w in ("push", "clone", "fetch", "pull", "ls-remote", "send-email") for w in words
        )
    return True


def _cloud_copy(name: str, words: Sequence[str]) -> tuple[bool, list[str]]:
    dests: list[str] = []
    for word in words:
        if word.startswith("s3://"):
            dests.append("s3.amazonaws.com")
        elif word.startswith("gs://"):
            dests.append("storage.googleapis.com")
    copying = any(w in ("cp", "mv", "sync", "copy", "upload", "copyto", "rsync") for w in words)
    operands = [w for w in words if not w.startswith("-")]
    uploads = copying and bool(operands) and ("://" in operands[-1] or ":" in operands[-1])
    return uploads, dests


def _host(raw: str) -> str:
    host = raw.strip().strip("[]").rstrip(".").lower()
    if "$" in host or "{" in host or not host:
        return ""
    return host


def _url_host(url: str) -> str:
    match = _URL.search(url)
    if match:
        return _host(match.group(2))
    if url.startswith("-") or "$" in url or url[:1] == "/":
        return ""
    head = url.split("/", 1)[0].rpartition("@")[2]
    head = head.partition(":")[0] if head.count(":") == 1 else head
    return _host(head) if _HOSTLIKE.match(head) else ""


def _url_basename(url: str) -> str:
    path = url.split("?", 1)[0].split("#", 1)[0]
    if "://" in path:
        path = path.split("://", 1)[1]
        path = path.partition("/")[2]
    return posixpath.basename(path) or "index.html"
