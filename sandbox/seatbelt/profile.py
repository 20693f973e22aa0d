"""A Seatbelt profile laid out in layers, from the rules a session needs.

SBPL lets the last matching rule win, so the layers go from wide to narrow: deny
everything; the basics a process needs; reads of system locations; the trusted paths
and the workspace; then Sandgate's own folders hidden; the session's own scratch
space; then the policy's denied paths and every credential location hidden and the
protected files made read-only, last, so no allow above can reopen them.

`ProfileSpec` holds filters already written by sandbox/seatbelt/sbpl.py; `render` only
orders them, so the text is a pure function of the spec and can be tested anywhere.
"""

from __future__ import annotations

from dataclasses import dataclass

from sandbox.seatbelt.sbpl import literal, quote, subpath

# Read-only system locations (macOS spelling: /etc, /tmp and /var are links into
# /private). /Library holds the system keychains; the credential catalogue hides them.
SYSTEM_READ: tuple[str, ...] = (
    "/usr",
    "/bin",
    "/sbin",
    "/System",
    "/Library",
    "/Applications",
    "/opt",
    "/nix",
    "/private/etc",
    "/private/var/db/timezone",
    "/private/var/db/xcode_select_link",  # where /usr/bin's developer tools live
    "/private/var/select",
    "/dev/fd",
)
# The links themselves, so that a path through them resolves.
SYSTEM_LINKS: tuple[str, ...] = ("/etc", "/tmp", "/var", "/private/var/run/resolv.conf")
DEVICES_RW: tuple[str, ...] = ("/dev/null", "/dev/zero", "/dev/dtracehelper")
DEVICES_RO: tuple[str, ...] = ("/dev/random", "/dev/urandom")

# Mach services every process needs: user and group lookups, the notification centre
# and the system log. Not the keychain (com.apple.SecurityServer, securityd), not the
# pasteboard, not launchd's services for starting programs outside the sandbox.
MACH_SERVICES: tuple[str, ...] = (
    "com.apple.system.opendirectoryd.libinfo",
    "com.apple.system.notification_center",
    "com.apple.system.logger",
    "com.apple.logd",
    "com.apple.bsd.dirhelper",
)
# Go programs verify TLS only through trustd. trustd fetches certificate URLs (AIA,
# OCSP, CRL) itself, outside the sandbox, so a certificate the agent crafts could carry
# data out in a URL: only allowed when the user asks for it (see SeatbeltOptions).
TRUSTD = "com.apple.trustd.agent"


@dataclass(frozen=True)
class ProfileSpec:
    """The filters of one session's profile, by what they grant or refuse.

    `tag` is appended to every denial the profile makes, so the system log's messages
    for this session can be told from everyone else's (sandbox/seatbelt/violations.py).
    """

    tag: str
    readable: tuple[str, ...] = ()
    writable: tuple[str, ...] = ()
    metadata: tuple[str, ...] = ()  # folders on the way to something shown (stat only)
    private: tuple[str, ...] = ()  # Sandgate's own folders
    session_rw: tuple[str, ...] = ()  # the session's own tmp and scratch
    session_ro: tuple[str, ...] = ()  # what Sandgate hands the session (the CA bundle)
    session_folders: tuple[str, ...] = ()  # folders of those, entered but not listed
    hidden: tuple[str, ...] = ()  # denied paths and credential locations
    protected: tuple[str, ...] = ()  # read, never written
    locked: tuple[str, ...] = ()  # folders that may not be renamed away (literal)
    unix_sockets: tuple[str, ...] = ()  # sockets the session may connect to
    proxy_port: int | None = None
    tty: bool = False
    trustd: bool = False


def render(spec: ProfileSpec) -> str:
    """The profile text."""
    lines = [
        "(version 1)",
        f"(deny default (with message {quote(spec.tag)}))",
        "",
        ";; Processes: run programs, fork, see and signal only this sandbox's processes.",
        "(allow process-exec)",
        "(allow process-fork)",
        "(allow signal (target same-sandbox))",
        "(allow process-info* (target same-sandbox))",
        "(allow mach-priv-task-port (target same-sandbox))",
        # Named semaphores: Python's multiprocessing locks need them.
        "(allow ipc-posix-sem)",
        "(allow sysctl-read)",
        "(allow mach-lookup",
        *[f"  (global-name {quote(name)})" for name in MACH_SERVICES],
        *([f"  (global-name {quote(TRUSTD)})"] if spec.trustd else []),
        ")",
        '(allow ipc-posix-shm-read* (ipc-posix-name "apple.shm.notification_center"))',
        "",
        ";; System locations, read-only.",
        "(allow file-read*",
        *[f"  {subpath(p)}" for p in SYSTEM_READ],
        *[f"  {literal(p)}" for p in (*SYSTEM_LINKS, *DEVICES_RO)],
        ")",
        "(allow file-read* file-write-data",
        *[f"  {literal(p)}" for p in DEVICES_RW],
        ")",
    ]
    if spec.tty:
        # The terminal the agent was started in, for its interface and job control: its
        # inherited descriptors name /dev/ttysNNN, which may be used (ioctl) but not
        # opened, so the user's other terminals stay out of reach.
        lines += [
            '(allow file-read* file-write-data file-ioctl (literal "/dev/tty"))',
            '(allow file-ioctl (regex "^/dev/ttys[0-9]+$"))',
        ]
    lines += _block(
        "Folders on the way to what is shown: their names, not their contents.",
        "allow file-read-metadata",
        ('(literal "/")', *spec.metadata),
    )
    lines += _block("Trusted paths shown read-only.", "allow file-read*", spec.readable)
    lines += _block(
        "The workspace and read-write trusted paths.",
        "allow file-read* file-write*",
        spec.writable,
    )
    lines += _block(
        "Sandgate's own folders: its policy, database and sessions.",
        "deny file-read* file-write*",
        spec.private,
        spec.tag,
    )
    lines += _block(
        "This session's private scratch space.", "allow file-read* file-write*", spec.session_rw
    )
    lines += _block(
        "What Sandgate hands this session, read-only.", "allow file-read*", spec.session_ro
    )
    lines += _block(
        "The folders those lie in: entered (the relay starts in its socket's), not listed.",
        "allow file-read-metadata",
        spec.session_folders,
    )
    lines += _block(
        "Denied paths and credential locations, even inside allowed folders.",
        "deny file-read* file-write*",
        spec.hidden,
        spec.tag,
    )
    lines += _block(
        "Protected files: readable, never written, wherever they are.",
        "deny file-write*",
        spec.protected,
        spec.tag,
    )
    lines += _block(
        "Folders holding a hidden path: not renamed away (a move would carry it out).",
        "deny file-write-unlink",
        spec.locked,
        spec.tag,
    )
    # A hard link or a clone would give a hidden file a second, allowed name (checks
    # are by path); never allowed, whatever an earlier rule says.
    lines += ["", f"(deny file-link file-clone (with message {quote(spec.tag)}))"]
    lines += _network(spec)
    return "\n".join(lines) + "\n"


def _block(why: str, rule: str, filters: tuple[str, ...], tag: str | None = None) -> list[str]:
    if not filters:
        return []
    message = f" (with message {quote(tag)})" if tag else ""
    return ["", f";; {why}", f"({rule}{message}", *[f"  {f}" for f in filters], ")"]


def _network(spec: ProfileSpec) -> list[str]:
    """Only the session's proxy: the relay listens on the loopback port and reaches the
    proxy's socket, the agent connects to that port. Binding is allowed for that one
    local port only, and by `remote`, never `local`, address for outbound: an outbound
    rule on the local address would match every connection (each has a local end)."""
    lines = ["", ";; Network: nothing but this session's proxy."]
    if spec.proxy_port is not None:
        endpoint = quote(f"localhost:{spec.proxy_port}")
        lines += [
            f"(allow network-bind (local ip {endpoint}))",
            f"(allow network-inbound (local ip {endpoint}))",
            f"(allow network-outbound (remote ip {endpoint}))",
        ]
    if spec.unix_sockets:
        lines += ["(allow network-outbound", *[f"  {literal(p)}" for p in spec.unix_sockets], ")"]
    return lines
