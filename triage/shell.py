"""What a shell command reads, where it sends data, and whether the first flows into the second.

The command is parsed with bashlex and walked as a small data-flow program: every simple
command gets the data of its standard input, of its arguments (command substitutions,
variables assigned earlier in the same command) and of the files it names, and passes
that data on to its standard output, to the files it writes, or out through a network
sink. A credential read "flows" into a sink when the credential's data reaches it by any
of these paths. When bashlex cannot parse the command, a conservative token scan stands
in: then any credential read and any sink anywhere in the command count as one flow.

Pure: no I/O, no environment, no clock. Paths are only ever handed to ``is_credential``.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Iterable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

import bashlex

IsCredential = Callable[[str], str | None]


@dataclass(frozen=True)
class ShellAnalysis:
    """The findings about one shell command, each tuple in order of first appearance.

    - ``credential_reads``: ids (from ``is_credential``) of credential locations whose
      content the command reads: named to a reading tool, redirected in, taken by a
      recursive tool from a folder that holds them, printed by a command such as
      ``gh auth token``, or the environment (see ``ENVIRONMENT``). Naming a path to
      ``ls``, ``chmod`` or ``echo`` is not a read.
    - ``network_sinks``: tools that send data out: ``curl``/``wget`` with data or upload
      options, raw sockets, ssh and copies to remote hosts, mail, cloud copies, inline
      programs that use the network, ``/dev/tcp`` redirects, and any network tool that
      credential data reaches. A plain download is not a sink.
    - ``destinations``: hosts named in URLs or as a network tool's target, lower-case.
    - ``encoders``: encoding or archiving tools in the command.
    - ``exfil_pipeline``: credential data reaches a sink, by pipe, file, variable,
      substitution, nested shell or git commit and push.
    - ``downloads_and_runs``: something downloaded is run (piped to a shell or an
      interpreter, given to ``eval``/``source``/``bash -c``, or saved and executed).
    - ``parse_error``: set when bashlex could not be used and the token scan answered.
    """

    credential_reads: tuple[str, ...]
    network_sinks: tuple[str, ...]
    destinations: tuple[str, ...]
    encoders: tuple[str, ...]
    exfil_pipeline: bool
    downloads_and_runs: bool
    parse_error: str | None


# Commands longer than this are not parsed (bashlex is slow on huge input); they get the
# conservative token scan, which can only over-report.
MAX_PARSE_CHARS = 64 * 1024
_MAX_DEPTH = 6


def _names(text: str) -> frozenset[str]:
    return frozenset(text.split())


# --- tool tables --------------------------------------------------------------------------

# Run the command that follows them; their own options are skipped.
_WRAPPERS: dict[str, frozenset[str]] = {
    name: _names(options)
    for name, options in (
        ("env", "-u --unset -C --chdir -S --split-string"),
        ("sudo", "-u -g -h -p -C -U -r -t -T -D"),
        ("doas", "-u -C"),
        ("nice", "-n --adjustment"),
        ("ionice", "-c -n -p -t"),
        ("timeout", "-s --signal -k --kill-after"),
        ("stdbuf", "-i -o -e"),
        ("exec", "-a"),
        ("time", "-f -o"),
        ("proxychains", "-f"),
        ("proxychains4", "-f"),
        ("caffeinate", "-t -w"),
        ("xargs", "-I -i -n -P -L -d -E -s -a --max-args --delimiter"),
        ("watch", "-n --interval -d"),
        ("flock", "-w -E"),
        ("strace", "-o -e -p -s"),
        ("nohup", ""),
        ("command", ""),
        ("builtin", ""),
        ("setsid", ""),
        ("unbuffer", ""),
        ("torsocks", ""),
        ("chronic", ""),
        ("busybox", ""),
        ("firejail", ""),
    )
}
# Wrappers whose first operand is not the command (timeout's duration, flock's lock file).
_WRAPPER_OPERAND = {"timeout": 1, "flock": 1}

# Look at names or metadata, never at content: naming a credential path is not a read.
_METADATA = _names(
    """
    ls stat chmod chown chgrp touch rm rmdir mkdir test [ echo printf cd pushd popd realpath
    readlink dirname basename which type file du ln unlink shred ssh-keygen ssh-add export
    declare local readonly typeset true false : find
    """
)
# Take whole folders, so a folder or the home that holds credentials is a read of them.
_RECURSIVE = {"tar", "zip", "7z", "7za", "rsync", "rclone", "rg", "ag", "restic", "borg"}
_RECURSIVE_WITH_FLAG = {"cp", "scp", "grep", "egrep", "fgrep", "chmod", "gsutil", "aws", "find"}
# Write (derived copies of) what they read into the files they name.
_FILE_WRITERS = _names(
    """
    cp mv install rsync tar zip 7z 7za gzip bzip2 xz zstd lz4 openssl gpg dd split base64
    base32 xxd tee sort uuencode ln sed
    """
)
_COMPRESSED_SUFFIXES = (".gz", ".bz2", ".xz", ".zst", ".lz4", ".gpg", ".asc", ".enc", ".b64")
_ENCODERS = _names(
    """
    base64 base32 basenc xxd od hexdump hd gzip bzip2 xz zstd lz4 tar zip 7z 7za openssl gpg
    uuencode compress rev
    """
)
_SHELLS = _names("sh bash zsh dash ksh mksh fish ash")
_INTERPRETERS = {
    name: language
    for language, names in (
        ("python", "python python2 python3 pypy pypy3"),
        ("node", "node nodejs deno bun"),
        ("perl", "perl"),
        ("ruby", "ruby"),
        ("php", "php"),
    )
    for name in names.split()
}
_CODE_FLAGS = {
    "python": {"-c"},
    "node": {"-e", "-p", "--eval", "--print", "eval"},
    "perl": {"-e", "-E"},
    "ruby": {"-e"},
    "php": {"-r"},
}
_SOURCERS = {"eval", "source", "."}
_DOWNLOADERS = {"curl", "wget", "fetch", "http", "https", "xh", "xhs", "aria2c", "lwp-download"}
_RAW_SOCKETS = {"nc", "ncat", "netcat", "socat", "telnet", "cryptcat", "pwncat", "sock"}
_SSH_FAMILY = {"ssh", "scp", "sftp", "rsync"}
_MAIL = {"mail", "mailx", "sendmail", "mutt", "swaks", "msmtp"}
_FILE_TRANSFER = {"ftp", "tftp", "lftp", "smbclient", "ncftpput", "curlftpfs"}
_DNS_LIKE = {"dig", "nslookup", "host", "ping", "ping6", "traceroute", "whois", "drill"}
_CLOUD_COPY = {"aws", "gsutil", "rclone", "az", "gcloud", "azcopy", "s3cmd"}
# Network-capable: any credential data reaching them leaves the machine.
_NETWORK = (
    _DOWNLOADERS
    | _RAW_SOCKETS
    | _SSH_FAMILY
    | _MAIL
    | _FILE_TRANSFER
    | _DNS_LIKE
    | _CLOUD_COPY
    | {"git", "openssl"}
)
_TEXT_ONLY = _names(
    """
    echo printf grep egrep fgrep rg sed awk jq cat head tail less more wc sort uniq cut tr
    true :
    """
)

# Option tables: options that take a value, for the tools whose operands matter.
_CURL_VALUE = _names(
    """
    -d --data --data-raw --data-binary --data-ascii --data-urlencode --json -F --form
    --form-string -T --upload-file -H --header -o --output -X --request -u --user -A
    --user-agent -e --referer -b --cookie -c --cookie-jar -x --proxy -m --max-time
    --connect-timeout -w --write-out -K --config --cacert --capath --cert -E --key -r
    --range -y -Y -z --retry --retry-delay --retry-max-time --resolve --url -C --limit-rate
    --interface --dns-servers --output-dir --netrc-file -U --proxy-user --max-filesize
    --connect-to --oauth2-bearer --variable -Q --quote --mail-from --mail-rcpt --trace
    --trace-ascii -D --dump-header --stderr --aws-sigv4 --request-target --unix-socket
    """
)
_CURL_DATA = _names(
    """
    -d --data --data-raw --data-binary --data-ascii --data-urlencode --json -F --form
    --form-string -T --upload-file --mail-rcpt
    """
)
_CURL_SHORT_VALUE = set("dFTHoXuAebcxmwKEryYzCUQD")
_WGET_VALUE = _names(
    """
    -O --output-document -o --output-file -a -P --directory-prefix --post-data --post-file
    --body-data --body-file --method --header -U --user-agent --user --password -t --tries
    -T --timeout -e -i --input-file --load-cookies --save-cookies --referer --http-user
    --http-password --ca-certificate --certificate --private-key
    """
)
_WGET_SEND = {"--post-data", "--post-file", "--body-data", "--body-file"}
_NC_VALUE = _names(
    """
    -e -c -p -s -w -i -x -X -q -I -O -P -T -V -m --exec --sh-exec --source-port --wait
    --proxy
    """
)
_SSH_VALUE = _names(
    """
    -b -c -D -E -e -F -I -i -J -L -l -m -O -o -p -P -Q -R -S -W -w --rsh --port --exclude
    --include --rsync-path --password-file --files-from --log-file
    """
)

# The process environment, as a path: a command that prints it (``env``, ``printenv``) or
# expands a secret-named variable (``$AWS_SECRET_ACCESS_KEY``) reads it. Outside the
# sandbox the environment holds the user's real keys; whether it counts as a credential is
# the catalogue's answer, through ``is_credential`` like any other path.
ENVIRONMENT = "/proc/self/environ"
_SECRET_VARIABLE = re.compile(
    r"(?i)^AWS_(?:SECRET|SESSION|ACCESS)|TOKEN|SECRET|PASSW(?:OR)?D|API_?KEY|PRIVATE_?KEY|"
    r"CREDENTIAL|_PAT$|^GH_|^GITHUB_"
)

# Commands that print a stored credential, and the store they read it from; the store's
# path is put to ``is_credential`` like any other read.
_CREDENTIAL_COMMANDS = {
    ("gh", "auth token"): "~/.config/gh/hosts.yml",
    ("git", "credential fill"): "~/.git-credentials",
    ("aws", "configure export-credentials"): "~/.aws/credentials",
    ("aws", "sts get-session-token"): "~/.aws/credentials",
    ("gcloud", "auth print-access-token"): "~/.config/gcloud/credentials.db",
    ("gcloud", "auth application-default print-access-token"): (
        "~/.config/gcloud/application_default_credentials.json"
    ),
    ("az", "account get-access-token"): "~/.azure/msal_token_cache.json",
    ("security", "find-generic-password"): "~/Library/Keychains/login.keychain-db",
    ("security", "find-internet-password"): "~/Library/Keychains/login.keychain-db",
    ("secret-tool", "lookup"): "~/.local/share/keyrings/login.keyring",
    ("pass", "show"): "~/.password-store/entry.gpg",
    ("pass", ""): "~/.password-store/entry.gpg",
    ("vault", "print token"): "~/.vault-token",
}
_CREDENTIAL_TOOLS = frozenset(tool for tool, _ in _CREDENTIAL_COMMANDS) | {"aws", "kubectl"}
_ECHO_SUBST = re.compile(r"\$\(\s*(?:echo|printf)\s+(?:-[neE]+\s+)?([^()`;|&]*?)\s*\)")

# Well-known credential files, relative to a home. A folder or a glob that a command reads
# is expanded against these (without I/O) and each match is put to ``is_credential``.
_WELL_KNOWN = tuple(
    line.strip()
    for line in """
    .aws/credentials
    .aws/config
    .ssh/id_rsa
    .ssh/id_ed25519
    .ssh/id_ecdsa
    .ssh/id_dsa
    .netrc
    .git-credentials
    .config/git/credentials
    .docker/config.json
    .kube/config
    .npmrc
    .pypirc
    .config/gh/hosts.yml
    .config/gcloud/credentials.db
    .config/gcloud/application_default_credentials.json
    .config/gcloud/access_tokens.db
    .azure/accessTokens.json
    .azure/msal_token_cache.json
    .gnupg/secring.gpg
    .gnupg/private-keys-v1.d/key.key
    .claude/.credentials.json
    .codex/auth.json
    .gemini/oauth_creds.json
    .config/google-chrome/Default/Cookies
    .config/google-chrome/Default/Login Data
    .config/chromium/Default/Cookies
    .mozilla/firefox/profile/logins.json
    .mozilla/firefox/profile/cookies.sqlite
    .mozilla/firefox/profile/key4.db
    .local/share/keyrings/login.keyring
    .password-store/entry.gpg
    Library/Keychains/login.keychain-db
    Library/Application Support/Google/Chrome/Default/Cookies
    Library/Application Support/Google/Chrome/Default/Login Data
    Library/Cookies/Cookies.binarycookies
    .vault-token
    .terraform.d/credentials.tfrc.json
    .cargo/credentials.toml
    .gem/credentials
    .config/op/config
    .m2/settings.xml
    .gradle/gradle.properties
    .composer/auth.json
    .bash_history
    .zsh_history
    .env
    """.splitlines()
    if line.strip()
)
_GIT_REPOSITORY = "\0git repository"  # a pseudo-file: what commits hold until pushed
_ASSIGNMENT = re.compile(r"[A-Za-z_]\w*=")
_HOME_PREFIX = re.compile(r"^(?:~|/home/[^/]+|/Users/[^/]+|/root)(?=/|$)")
_GLOB_CHARS = re.compile(r"[*?\[]")
_VAR_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)[^}]*\}|\$([A-Za-z_][A-Za-z0-9_]*)")
_URL = re.compile(
    r"\b([a-zA-Z][a-zA-Z0-9+.-]{1,15})://(?:[^/\s@'\"]*@)?(\[[0-9a-fA-F:.]+\]|[^/\s:?#'\"`)<>\\]+)"
)
_DEV_NET = re.compile(r"^/dev/(tcp|udp)/([^/]+)/")
_SOCAT_ADDR = re.compile(
    r"^(?:tcp[46]?|udp[46]?|openssl|ssl|tcp-connect|udp-sendto|udp-connect|tcp4-connect|"
    r"tcp6-connect|socks4a?|proxy):([^:,]+)",
    re.IGNORECASE,
)
_SOCAT_FILE = re.compile(r"^(?:file|open|gopen|readline|create):([^,]+)", re.IGNORECASE)
_HOSTLIKE = re.compile(
    r"^(?:\[[0-9a-fA-F:.]+\]|[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9-]+)+)$"
)
_REMOTE_SPEC = re.compile(r"^(?:[^/@:\s]+@)?([a-zA-Z0-9][a-zA-Z0-9.-]*|\[[0-9a-fA-F:.]+\]):(?!//)")

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


# --- data flow ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Flow:
    """What some data carries: credential ids it came from, and whether it came off the net."""

    creds: frozenset[str] = frozenset()
    remote: bool = False

    def __or__(self, other: _Flow) -> _Flow:
        if not other.creds and not other.remote:
            return self
        if not self.creds and not self.remote:
            return other
        return _Flow(self.creds | other.creds, self.remote or other.remote)


_EMPTY = _Flow()
_REMOTE = _Flow(remote=True)


@dataclass
class _Arg:
    """One word of a command: its text (with known variables expanded) and its data."""

    text: str
    alts: tuple[str, ...]
    flow: _Flow
    out_procs: tuple[Any, ...] = ()


@dataclass
class _Var:
    values: tuple[str, ...]
    flow: _Flow


@dataclass
class _Findings:
    reads: list[str] = field(default_factory=list)
    sinks: list[str] = field(default_factory=list)
    dests: list[str] = field(default_factory=list)
    encoders: list[str] = field(default_factory=list)
    exfil: bool = False
    runs_download: bool = False

    def add(self, bucket: list[str], item: str) -> None:
        if item and item not in bucket:
            bucket.append(item)


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
                inner_in = inner_in | self.redirect_in(redirect)
            out = _EMPTY
            for part in node.list:
                if part.kind != "reservedword":
                    out = out | self.node(part, inner_in)
            return self.redirect_out(redirects, out)
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
            stdin = stdin | self.redirect_in(redirect)
        args, via_xargs = _strip_wrappers(args)
        if not args:
            return self.redirect_out(redirects, stdin if redirects else _EMPTY)
        out = self.simple(args, stdin, via_xargs, redirects)
        for arg in args:
            for proc in arg.out_procs:
                self.node(proc, out)
        return self.redirect_out(redirects, out)

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

    def redirect_in(self, node: Any) -> _Flow:
        """Data a redirect feeds into the command (and network fds it opens)."""
        rtype = node.type
        target = node.output
        if rtype == "<<":
            heredoc = getattr(node, "heredoc", None)
            body = str(heredoc.value) if heredoc is not None else ""
            return self.heredoc(body)
        if isinstance(target, int) or target is None:
            return _EMPTY
        arg = self.word(target)
        if rtype == "<<<":
            return arg.flow
        if rtype in ("<", "<>"):
            net = _DEV_NET.match(arg.text)
            if net:
                self.found.add(self.found.sinks, "/dev/" + net.group(1))
                self.found.add(self.found.dests, net.group(2).lower())
                if isinstance(node.input, int):
                    self.net_fds.add(node.input)
                return _REMOTE
            return arg.flow | self.read_path(arg.alts)
        return _EMPTY

    def heredoc(self, body: str) -> _Flow:
        lines = body.split("\n")
        if len(lines) > 1:
            body = "\n".join(lines[:-1])  # bashlex keeps the delimiter line
        flow = _EMPTY
        for name in _var_names(body):
            var = self.vars.get(name)
            if var is not None:
                flow = flow | var.flow
        for match in re.finditer(r"\$\(([^()]*)\)|`([^`]*)`", body):
            flow = flow | self.nested(match.group(1) or match.group(2) or "", _EMPTY)
        return flow

    def redirect_out(self, redirects: Sequence[Any], out: _Flow) -> _Flow:
        """Send ``out`` where the output redirects point; returns what still goes to stdout."""
        to_stdout = out
        for node in redirects:
            rtype = node.type
            target = node.output
            source_fd = node.input if isinstance(node.input, int) else 1
            if rtype in (">&", "<&") and isinstance(target, int):
                if target in self.net_fds:
                    self.sink("/dev/tcp", out)
                continue
            if rtype not in (">", ">>", ">|", "&>", "&>>", ">&", "<>") or target is None:
                continue
            if isinstance(target, int):
                continue
            arg = self.word(target)
            net = _DEV_NET.match(arg.text)
            if net:
                self.found.add(self.found.dests, net.group(2).lower())
                self.sink("/dev/" + net.group(1), out)
                if source_fd not in (0, 1, 2):
                    self.net_fds.add(source_fd)
                if source_fd == 1 or rtype in ("&>", "&>>"):
                    to_stdout = _EMPTY
                continue
            if arg.text in ("/dev/null", "/dev/stderr", "/dev/stdout"):
                if source_fd == 1 and arg.text == "/dev/null":
                    to_stdout = _EMPTY
                continue
            if source_fd == 1 or rtype in ("&>", "&>>"):
                for alt in arg.alts:
                    self.taint_file(alt, out)
                to_stdout = _EMPTY
        return to_stdout

    def simple(
        self, args: list[_Arg], stdin: _Flow, via_xargs: bool, redirects: list[Any]
    ) -> _Flow:
        """One command after its wrappers: reads, sinks, encoders, downloads, runs."""
        found = self.found
        raw_name = args[0].text
        name = posixpath.basename(raw_name.lstrip("\\"))
        rest = args[1:]
        words = [a.text for a in rest]
        arg_flow = _EMPTY
        for arg in rest:
            arg_flow = arg_flow | arg.flow
        if via_xargs:
            arg_flow = arg_flow | stdin

        if name in self.functions and self.depth < _MAX_DEPTH:
            self.depth += 1
            try:
                return self.node(self.functions[name], stdin | arg_flow)
            finally:
                self.depth -= 1

        if name in ("cd", "pushd") and len(words) == 1 and words[0] != "-":
            self.cwd = normalise_path(rest[0].text, self.cwd)
            return _EMPTY
        dumps_environment = _dumps_environment(name, words)
        if name in ("export", "declare", "local", "readonly", "typeset") and not dumps_environment:
            for arg in rest:
                if "=" in arg.text and not arg.text.startswith("-"):
                    var_name, _, _ = arg.text.partition("=")
                    values = tuple(a.partition("=")[2] for a in arg.alts)
                    self.vars[var_name] = _Var(values, arg.flow)
            return _EMPTY
        if name in ("read", "mapfile", "readarray"):
            for word in words:
                if not word.startswith("-") and re.fullmatch(r"[A-Za-z_]\w*", word):
                    self.vars[word] = _Var((), stdin)
            return _EMPTY

        if dumps_environment:
            stdin = stdin | self.read_path((ENVIRONMENT,))
        secret_source = _credential_command(name, words)
        if secret_source is not None:
            # The command prints a stored credential: it reads that store.
            stdin = stdin | self.read_path((secret_source,))

        if name in _ENCODERS or (_INTERPRETERS.get(name) == "python" and "base64" in words):
            found.add(found.encoders, name)

        # Files the command reads: credentials (recorded) and files written earlier.
        identity = _identity_values(name, words)
        skip = _write_targets(name, words)
        read_flow = _EMPTY
        if name not in _METADATA or (name == "find" and ("-exec" in words or "-execdir" in words)):
            recursive = name in _RECURSIVE or (
                name in _RECURSIVE_WITH_FLAG
                and any(
                    re.fullmatch(r"-[a-zA-Z]*[rRa][a-zA-Z]*|--recursive|-exec", w) for w in words
                )
            )
            for index, arg in enumerate(rest):
                if index in skip:
                    continue
                flow = self.read_path(_path_operands(arg.alts), recursive)
                if index in identity:
                    continue  # an ssh identity is used to log in, not sent
                read_flow = read_flow | flow
        data = stdin | arg_flow | read_flow
        if name == "git":
            data = self.git(words, data)

        out = data
        if name in _SHELLS or name in _SOURCERS:
            out = self.shell(name, rest, stdin, data)
        elif name in _INTERPRETERS:
            out = self.interpreter(_INTERPRETERS[name], name, rest, stdin, data, redirects)
        elif (
            raw_name.startswith(("./", "/", "~"))
            and self.files.get(normalise_path(raw_name, self.cwd), _EMPTY).remote
        ):
            found.runs_download = True
        elif name in _NETWORK:
            out = self.network(name, rest, data)
        elif name == "tee":
            for arg in rest:
                if not arg.text.startswith("-"):
                    for alt in arg.alts:
                        self.taint_file(alt, data)
        if name not in _TEXT_ONLY and name not in ("curl", "wget") and _carries_out(name, words):
            for word in words:
                for match in _URL.finditer(word):
                    if match.group(1).lower() not in ("s3", "gs", "file"):
                        found.add(found.dests, _host(match.group(2)))
        if name in _FILE_WRITERS and data != _EMPTY and name != "tee":
            for index, arg in enumerate(rest):
                for candidate in _path_operands(arg.alts):
                    if index in skip or not self.credential_ids(candidate):
                        self.taint_file(candidate, data)
                        for suffix in _COMPRESSED_SUFFIXES:
                            self.taint_file(candidate + suffix, data)
            if name in ("cp", "mv", "install") and len(rest) >= 2:
                # copied into a folder: the copy keeps its name there
                folder = rest[-1].text.rstrip("/") or "/"
                for arg in rest[:-1]:
                    if not arg.text.startswith("-"):
                        self.taint_file(f"{folder}/{posixpath.basename(arg.text)}", data)
        return out

    def git(self, words: list[str], data: _Flow) -> _Flow:
        """What ``git add``/``commit`` put into the repository, ``git push`` sends."""
        operands = [w for w in words if not w.startswith("-")]
        sub = operands[0] if operands else ""
        if sub in ("add", "commit", "stash"):
            everything = any(w in (".", "-A", "--all", "*") for w in words)
            for path, flow in self.files.items():
                inside = any(
                    path.startswith(normalise_path(o, self.cwd) + "/") for o in operands[1:]
                )
                if sub == "add" and (everything or inside):
                    data = data | flow  # what was written there goes in
            if sub == "commit" and any(re.fullmatch(r"-[a-zA-Z]*a[a-zA-Z]*", w) for w in words):
                for flow in self.files.values():
                    data = data | flow
            self.taint_file(_GIT_REPOSITORY, data)
        elif sub in ("push", "send-email"):
            data = data | self.files.get(_GIT_REPOSITORY, _EMPTY)
        return data

    # -- the kinds of commands --

    def shell(self, name: str, rest: list[_Arg], stdin: _Flow, data: _Flow) -> _Flow:
        found = self.found
        if name in _SOURCERS:
            if data.remote or any(
                self.files.get(normalise_path(a.text, self.cwd), _EMPTY).remote for a in rest
            ):
                found.runs_download = True
            if name == "eval" and rest:
                return self.nested(" ".join(a.text for a in rest), stdin)
            return data
        operands = [a for a in rest if not a.text.startswith("-")]
        words = [a.text for a in rest]
        if "-c" in words or any(re.fullmatch(r"-[a-z]*c[a-z]*", w) for w in words):
            script_index = next(
                i for i, w in enumerate(words) if re.fullmatch(r"-[a-z]*c[a-z]*", w)
            )
            if script_index + 1 < len(rest):
                script = rest[script_index + 1]
                if script.flow.remote:
                    found.runs_download = True
                return self.nested(script.text, stdin) | script.flow
            return data
        if not operands or "-s" in words or (operands and operands[0].text == "-"):
            if stdin.remote:
                found.runs_download = True
            return data
        first = operands[0]
        if first.flow.remote or self.files.get(normalise_path(first.text, self.cwd), _EMPTY).remote:
            found.runs_download = True
        return data

    def interpreter(
        self,
        lang: str,
        name: str,
        rest: list[_Arg],
        stdin: _Flow,
        data: _Flow,
        redirects: list[Any],
    ) -> _Flow:
        found = self.found
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
                    or self.files.get(normalise_path(first.text, self.cwd), _EMPTY).remote
                ):
                    found.runs_download = True
            elif stdin.remote:
                found.runs_download = True
            return data
        if code_flow.remote:
            found.runs_download = True
        return self.code(name, code, data)

    def code(self, name: str, code: str, data: _Flow) -> _Flow:
        """Inline program text (python -c, node -e, …): its reads, network use and shell-outs."""
        found = self.found
        literals = [
            next(g for g in m.groups() if g is not None) for m in _CODE_STRING.finditer(code)
        ][:200]
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
                reads = reads | self.read_path((lit,))
        if _CODE_ENCODE.search(code):
            found.add(
                found.encoders, "base64" if re.search("b64|base64|btoa|Base64", code) else name
            )
        if _CODE_SHELL.search(code):
            for lit in literals:
                if " " in lit and len(lit) < 400:
                    reads = reads | self.nested(lit, _EMPTY)
        flow = data | reads
        for match in _URL.finditer(code):
            found.add(found.dests, _host(match.group(2)))
        if _CODE_NET.search(code):
            self.sink(name, flow)
            if _CODE_EXEC.search(code):
                found.runs_download = True
            flow = flow | _REMOTE
        return flow

    def network(self, name: str, rest: list[_Arg], data: _Flow) -> _Flow:
        """Network tools: where they go, whether they send, what they download."""
        found = self.found
        words = [a.text for a in rest]
        sends = False
        out = data
        if name == "curl":
            sends, out = self.curl(rest)
        elif name == "wget":
            sends, out = self.wget(rest)
        elif name in ("http", "https", "xh", "xhs"):
            sends = self.httpie(words)
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
            self.sink(name, data)
        return out

    def curl(self, rest: list[_Arg]) -> tuple[bool, _Flow]:
        found = self.found
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
            self.taint_file(out_file, _REMOTE)
            return sends, _EMPTY
        if remote_name:
            for url in urls:
                self.taint_file(_url_basename(url), _REMOTE)
            return sends, _EMPTY
        return sends, _REMOTE

    def wget(self, rest: list[_Arg]) -> tuple[bool, _Flow]:
        found = self.found
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
            self.taint_file(out_file, _REMOTE)
        else:
            for url in urls:
                self.taint_file(_url_basename(url), _REMOTE)
        return sends, _EMPTY

    def httpie(self, words: list[str]) -> bool:
        operands = [w for w in words if not w.startswith("-")]
        sends = False
        if operands and operands[0].upper() in ("POST", "PUT", "PATCH", "DELETE", "GET", "HEAD"):
            sends = operands[0].upper() in ("POST", "PUT", "PATCH")
            operands = operands[1:]
        if operands:
            url = operands[0]
            self.found.add(
                self.found.dests, _url_host(url if "://" in url else "http://" + url.lstrip(":"))
            )
        for item in operands[1:]:
            if re.match(r"^@|^[^:=@\s]+(:=@|=@|@|:=|==|=)", item):
                sends = True
        return sends

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

    def taint_file(self, raw: str, flow: _Flow) -> None:
        if not raw or raw == "-" or flow == _EMPTY:
            return
        path = normalise_path(raw, self.cwd)
        self.files[path] = self.files.get(path, _EMPTY) | flow


# --- pure helpers -----------------------------------------------------------------------------


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
                    flow = walker.code(name, args[index + 1].text, flow)
        elif name in _NETWORK:
            flow = walker.network(name, args[1:], flow)
    for match in re.finditer(r"/dev/(tcp|udp)/([^/\s]+)/", source):
        found.add(found.dests, match.group(2).lower())
        walker.sink("/dev/" + match.group(1), flow)
    if found.sinks and found.reads:
        found.exfil = True
    return flow
