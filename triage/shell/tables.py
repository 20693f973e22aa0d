"""What the analysis knows about tools, options, credential stores and word shapes.

Data only: sets of command names, the options that take a value, the commands that
print a stored credential, the well-known credential files of a home, and patterns.
"""

from __future__ import annotations

import re

# How many shells deep (``bash -c``, ``eval``, functions, inline programs) the walk
# follows; a deeper one passes its input on unexamined.
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
        ("pkexec", "--user"),
        ("run0", "-u --user -g --group -D --chdir --setenv --property --slice --unit --nice"),
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
