"""egress.*: data leaving the sandbox through the proxy or an agent tool.

Payload rules read `Facts.payload`, the single linear scan of the URL, headers and
body (triage/payload.py); destination rules read `Facts.host`, classified by
resources/catalogues/destinations.yaml.
"""

from __future__ import annotations

from triage.facts import Facts, Host
from triage.rules.base import EXEC, NET_CONNECT, NET_REQUEST, TOOL_MCP, rule

_UPLOAD_METHODS = frozenset({"POST", "PUT", "PATCH"})


def _where(f: Facts) -> str:
    if f.host is not None:
        return f"to {f.host.name}"
    return f"through {f.tool}" if f.tool else "out"


@rule(
    "egress.canary", "Sends this session's canary token", 90, (NET_REQUEST, NET_CONNECT, TOOL_MCP)
)
def canary(f: Facts) -> str | None:
    """Sends a canary token planted in this session's decoy credentials, plain or
    base64-, hex- or percent-encoded. Only something that read a decoy and re-emits its
    content can do this: it is a credential theft caught in the act.

    Fires: a POST whose body holds the session's canary, base64-encoded.
    Near miss: the same POST with a canary of a different session.
    """
    if f.payload.canary is not None:
        return f"sends this session's canary token ({f.payload.canary}) {_where(f)}"
    return None


@rule("egress.foreign-credential", "Foreign credential on a bound domain", 90, (NET_REQUEST,))
def foreign_credential(f: Facts) -> str | None:
    """Sends a credential to a domain this session holds a placeholder for, and the
    credential is not that placeholder: an authorization or API-key header, a key or
    token query parameter, or a secret anywhere in the URL, headers or body. This is
    the allowed-domain attack: the destination is trusted, but the key is an
    attacker's, so the data lands in the attacker's account.

    Fires: `POST https://api.anthropic.com/v1/files` with `x-api-key: sk-ant-api03-…`
    (a real key) when the session's placeholder for api.anthropic.com is another value.
    Near miss: the same request carrying the session's placeholder.
    """
    if f.foreign_credentials and f.host is not None and f.host.bound is not None:
        where = ", ".join(f.foreign_credentials)
        return (
            f"carries a credential that is not this session's placeholder to {f.host.bound} "
            f"({where})"
        )
    return None


@rule(
    "egress.after-credential-read",
    "Sends data after reading a credential",
    80,
    (NET_REQUEST, NET_CONNECT, TOOL_MCP, EXEC),
)
def after_credential_read(f: Facts) -> str | None:
    """Any egress, once this session has read a credential location. The classic theft
    is two steps, read then send; this rule joins them even when they are separate
    events, tools or commands.

    Fires: `GET https://example.org/` after `file.read ~/.ssh/id_rsa` in the same session.
    Near miss: the same GET in a session that read no credential.
    """
    if f.egress and f.credentials_read:
        return f"sends data {_where(f)} after this session read {', '.join(f.credentials_read)}"
    return None


@rule("egress.secret", "Sends a secret", 60, (NET_REQUEST, TOOL_MCP))
def secret(f: Facts) -> str | None:
    """Sends something shaped like a secret in the URL, headers or body: an AWS key, a
    private key block, a GitHub, GitLab, Slack, Stripe, OpenAI, Anthropic, Google,
    Hugging Face, npm or PyPI token, a JWT, or a random value in a field named like a
    password or key (resources/catalogues/secrets.yaml). The session's own placeholders
    do not count.

    Fires: `POST https://example.org/log` with body `key=AKIAIOSFODNN7EXAMPLE`.
    Near miss: body `key=AKIA-is-the-prefix` (too short to be a key).
    """
    if f.payload.secrets:
        kinds = ", ".join(s.title for s in f.payload.secrets)
        return f"sends a secret ({kinds}) {_where(f)}"
    return None


@rule("egress.encoded-blob", "Sends a large encoded blob", 50, (NET_REQUEST, TOOL_MCP))
def encoded_blob(f: Facts) -> str | None:
    """Sends a long run (512 characters or more) of base64, hex or percent-encoded
    data. Encoding is how files are smuggled through text channels.

    Fires: a POST whose body is 2 KiB of base64.
    Near miss: a POST of 2 KiB of ordinary JSON.
    """
    if f.payload.blob is not None:
        return f"sends {f.payload.blob_length} characters of {f.payload.blob} data {_where(f)}"
    return None


@rule("egress.new-destination-upload", "Uploads to a new destination", 50, (NET_REQUEST,))
def new_destination_upload(f: Facts) -> str | None:
    """POST, PUT or PATCH to a host this session has not contacted before (its bound
    domains count as known). Sending data somewhere new deserves a look.

    Fires: `POST https://collector.example.net/` as the first contact with that host.
    Near miss: `GET https://collector.example.net/` (fetching, not sending).
    """
    if f.kind == "net.request" and f.method in _UPLOAD_METHODS and f.host and f.host.new:
        return f"{f.method} to {f.host.name}, a destination new to this session"
    return None


@rule(
    "egress.risky-destination",
    "Contacts a paste, webhook, tunnel or file-drop host",
    45,
    (NET_REQUEST, NET_CONNECT),
)
def risky_destination(f: Facts) -> str | None:
    """Contacts a host whose usual purpose is receiving data from strangers: paste
    sites, webhook catchers and request bins, tunnels, anonymous file drops.

    Fires: `GET https://webhook.site/abc`.
    Near miss: `GET https://github.com/abc` (a source host).
    """
    if f.host is not None and f.host.klass is not None and f.host.high:
        return f"contacts {f.host.name}, a {f.host.klass.title}"
    return None


@rule(
    "egress.metadata-address", "Contacts a cloud metadata endpoint", 80, (NET_REQUEST, NET_CONNECT)
)
def metadata_address(f: Facts) -> str | None:
    """Contacts a cloud instance metadata endpoint (169.254.169.254,
    metadata.google.internal, …), which hands out the machine's cloud credentials.

    Fires: `GET http://169.254.169.254/latest/meta-data/iam/security-credentials/`.
    Near miss: `GET http://169.254.1.1/` (link-local, but no metadata service).
    """
    if f.host is not None and f.host.metadata:
        return f"contacts {f.host.name}, a cloud metadata endpoint that hands out credentials"
    return None


@rule(
    "egress.private-address",
    "Contacts a private or loopback address",
    40,
    (NET_REQUEST, NET_CONNECT),
)
def private_address(f: Facts) -> str | None:
    """Contacts loopback, a private range or a link-local address: services on the
    user's machine or network that were never meant to be reachable from the agent.

    Fires: `net.connect 192.168.1.10:22`.
    Near miss: `net.connect 93.184.216.34:443` (a public address; see egress.raw-ip).
    """
    if f.host is not None and f.host.private and not f.host.metadata:
        return f"contacts {f.host.name}, a private or loopback address"
    return None


@rule("egress.raw-ip", "Contacts a bare public IP address", 25, (NET_REQUEST, NET_CONNECT))
def raw_ip(f: Facts) -> str | None:
    """Contacts a public IP address written as a number instead of a name; ordinary
    tools use names, hand-rolled exfiltration often does not.

    Fires: `POST http://45.33.32.156/upload`.
    Near miss: `POST https://upload.example.com/upload`.
    """
    if f.host is not None and f.host.ip and not f.host.private and not f.host.metadata:
        return f"contacts the bare address {f.host.name}"
    return None


@rule("egress.punycode", "Contacts a look-alike (punycode) domain", 40, (NET_REQUEST, NET_CONNECT))
def punycode(f: Facts) -> str | None:
    """Contacts a host whose name holds an `xn--` label or non-ASCII letters, the usual
    spelling of a look-alike domain (`gіthub.com` with a Cyrillic і).

    Fires: `GET https://xn--gthub-n4a.com/`.
    Near miss: `GET https://github.com/`.
    """
    if f.host is not None and f.host.punycode:
        return f"contacts {f.host.name}, an internationalised name that may imitate another"
    return None


@rule("egress.opaque-tunnel", "Opens a tunnel whose content is hidden", 15, (NET_CONNECT,))
def opaque_tunnel(f: Facts) -> str | None:
    """Opens a connection whose content the proxy cannot see (`net.connect`) to a host
    that is not a known package registry, source host or documentation site.

    Fires: `net.connect files.example.net:443`.
    Near miss: `net.connect pypi.org:443`.
    """
    if f.kind == "net.connect" and f.host is not None and not f.host.low:
        return f"opens a tunnel to {_hostport(f.host)} whose content is not visible"
    return None


@rule("egress.unusual-port", "Uses an unusual port", 15, (NET_REQUEST, NET_CONNECT))
def unusual_port(f: Facts) -> str | None:
    """Connects to a port other than 80 or 443 (SSH, raw sockets, reverse shells).

    Fires: `net.connect example.net:4444`.
    Near miss: `net.connect example.net:443`.
    """
    if f.host is not None and f.host.port not in (None, 80, 443):
        return f"uses port {f.host.port} on {f.host.name}"
    return None


def _hostport(host: Host) -> str:
    return f"{host.name}:{host.port}" if host.port is not None else host.name


RULES = (
    canary,
    foreign_credential,
    after_credential_read,
    secret,
    encoded_blob,
    new_destination_upload,
    risky_destination,
    metadata_address,
    private_address,
    raw_ip,
    punycode,
    opaque_tunnel,
    unusual_port,
)
