"""Facts of network events: destinations classified against the session, payloads
scanned, and credentials other than the session's placeholder sent to a bound domain."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlsplit

from triage.catalogues import Catalogues
from triage.events import NetConnect, NetRequest
from triage.facts import Facts, Host
from triage.hosts import HostClassifier, normalise_host
from triage.payload import SecretHit, merge, scan
from triage.session_state import SessionState

_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443, "ftp": 21}
# Header and query names that carry credentials. Deliberately not "session", "key" or
# "cookie" alone in headers: SDKs send session ids, idempotency keys and CDN cookies.
_CREDENTIAL_HEADER = re.compile(
    r"(?i)^(?:authorization|proxy-authorization|x-api-key|api-key|apikey|x-auth-token|"
    r"x-access-token|private-token|x-goog-api-key|x-amz-security-token|x-gitlab-token|"
    r"x-github-token|openai-api-key)$"
    r"|(?:^|[-_])(?:api[-_]?key|apikey|auth[-_]?token|access[-_]?token|secret|password|"
    r"credentials?)(?:$|[-_])"
)
_CREDENTIAL_PARAM = re.compile(
    r"(?i)^(?:key|token|auth|access_token|api_key|apikey|api-key|secret|password|sig)$"
)
_AUTH_SCHEME = re.compile(r"(?i)^(?:bearer|token|basic|apikey|key)\s+")


class NetFacts:
    """Builds the facts of connections and requests, and the `Host` of any destination."""

    def __init__(self, catalogues: Catalogues) -> None:
        self.catalogues = catalogues
        self._classify = HostClassifier(catalogues)

    def host(self, name: str, port: int | None, s: SessionState) -> Host:
        """A destination as the rules see it: classified, new to the session or not,
        and the bound domain it falls under."""
        name = normalise_host(name)
        info = self._classify(name)
        bound = None
        for domain in s.bound:
            if name == domain or name.endswith("." + domain):
                bound = domain
                break
        return Host(name, port, *info, new=name not in s.seen, bound=bound)

    def connect(self, event: NetConnect, s: SessionState, prior: tuple[str, ...]) -> Facts:
        return Facts(
            kind="net.connect",
            host=self.host(event.host, event.port, s),
            # A name can carry data too: <canary>.attacker.example
            payload=scan(event.host.encode(), self.catalogues, s.canaries, s.placeholders),
            credentials_read=prior,
        )

    def request(
        self, event: NetRequest, s: SessionState, prior: tuple[str, ...], tool: str | None
    ) -> Facts:
        try:
            parts = urlsplit(event.url)
            port = parts.port
        except ValueError:
            parts = urlsplit("")
            port = None
        hostname = parts.hostname or ""
        if port is not None and port == _DEFAULT_PORTS.get(parts.scheme.lower()):
            port = None
        host = self.host(hostname, port, s)
        lines = [event.url.encode("utf-8", "surrogatepass")]
        lines += [f"{k}: {v}".encode("utf-8", "surrogatepass") for k, v in event.headers]
        head = b"\n".join(lines)
        # URL and headers apart from the body: a body without long runs then costs one
        # translate, and where a secret sits is known for the foreign-credential check.
        cat, canaries, allowed = self.catalogues, s.canaries, s.placeholders
        head_findings = scan(head, cat, canaries, allowed)
        body_findings = scan(event.body, cat, canaries, allowed)
        payload = merge(head_findings, body_findings)
        foreign: tuple[str, ...] = ()
        if host.bound is not None:
            bound = s.bound[host.bound]
            foreign = _foreign(
                event, parts.query, bound, head_findings.secrets, body_findings.secrets
            )
        return Facts(
            kind="net.request",
            tool=tool,
            method=event.method,
            host=host,
            payload=payload,
            foreign_credentials=foreign,
            credentials_read=prior,
        )


def _foreign(
    event: NetRequest,
    query: str,
    placeholder: str,
    head: tuple[SecretHit, ...],
    body: tuple[SecretHit, ...],
) -> tuple[str, ...]:
    """Where a request to a bound domain carries a credential other than its placeholder."""
    where: list[str] = []
    for name, value in event.headers:
        if _CREDENTIAL_HEADER.search(name) and not _is_placeholder(value, placeholder):
            where.append(f"header {name}")
    for name, value in parse_qsl(query, keep_blank_values=False):
        if (
            _CREDENTIAL_PARAM.match(name) or _CREDENTIAL_HEADER.search(name)
        ) and not _is_placeholder(value, placeholder):
            where.append(f"query parameter {name}")
    for hit in head:
        where.append(f"{hit.title} in the URL or headers")
    for hit in body:
        where.append(f"{hit.title} in the body")
    return tuple(dict.fromkeys(where))


def _is_placeholder(value: str, placeholder: str) -> bool:
    """Is this header or parameter value empty or the session's own placeholder?"""
    value = _AUTH_SCHEME.sub("", value.strip())
    return not value or (bool(placeholder) and placeholder in value)
