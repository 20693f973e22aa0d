"""Bound credentials for the editor: the same index and keyring calls as
`sandgate credential add|list|remove` (app/service/egress_credentials.py). A secret
goes to the OS keyring and nowhere else: never into a policy file, a log or a return
value. Every call may block on the keyring's daemon: the window makes them off its
GUI thread."""

from __future__ import annotations

from pathlib import Path

from app.service.egress import credentials_file
from app.service.egress_credentials import Binding, CredentialIndex, check_name, default_env


def bound(config: Path) -> list[Binding]:
    """The bindings made so far, by name (the index holds no secret)."""
    return sorted(CredentialIndex(credentials_file(config)).load().values(), key=lambda b: b.name)


def bind(config: Path, name: str, domain: str, header: str, env: str, secret: str) -> Binding:
    """Store `secret` in the keyring under `name`, bound to `domain` in `header`, with a
    placeholder in `env` (default NAME_API_KEY). Raises ValueError for a bad field and
    the keyring's own error when it cannot store it."""
    check_name(name)
    domain = domain.strip().lower()
    if not domain or "/" in domain or " " in domain:
        raise ValueError(f"domain {domain!r}: a host name such as api.example.com")
    if not header.strip():
        raise ValueError("a header carries the secret: e.g. authorization or x-api-key")
    if not secret:
        raise ValueError("no secret given")
    binding = Binding(name, domain, header.strip(), env.strip() or default_env(name))
    CredentialIndex(credentials_file(config)).add(binding, secret)
    return binding


def unbind(config: Path, name: str) -> bool:
    """Forget the binding and delete its secret from the keyring."""
    return CredentialIndex(credentials_file(config)).remove(name)
