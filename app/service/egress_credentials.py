"""Credentials bound to domains: the secret in the OS keyring, the binding in a small index.

The keyring holds the secret under service "sandgate", username NAME (as the policy's
`credentials` section names it). The keyring cannot list its entries, so the bindings
made with `sandgate credential add` (domain, header, variable) are kept beside the
configuration in `credentials.json` (0600), which holds no secret.
"""

from __future__ import annotations

import json
import logging
import os
import re
from dataclasses import asdict, dataclass
from pathlib import Path

logger = logging.getLogger(__name__)

KEYRING_SERVICE = "sandgate"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


@dataclass(frozen=True)
class Binding:
    name: str
    domain: str
    header: str
    env: str


def default_env(name: str) -> str:
    """`anthropic` → `ANTHROPIC_API_KEY`: the variable that carries the placeholder."""
    return re.sub(r"[^A-Z0-9]", "_", name.upper()) + "_API_KEY"


def check_name(name: str) -> str:
    if not _NAME.match(name):
        raise ValueError(f"credential name {name!r}: letters, digits, '_', '.', '-' only")
    return name


class CredentialIndex:
    """The bindings file. Every write replaces it atomically with mode 0600."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> dict[str, Binding]:
        try:
            raw = json.loads(self.path.read_text())
        except FileNotFoundError:
            return {}
        return {name: Binding(**fields) for name, fields in raw.items()}

    def save(self, bindings: dict[str, Binding]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = self.path.with_name(self.path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump({n: asdict(b) for n, b in sorted(bindings.items())}, handle, indent=2)
        tmp.replace(self.path)

    def add(self, binding: Binding, secret: str) -> None:
        """Store the secret in the keyring, then the binding in the index."""
        import keyring

        check_name(binding.name)
        keyring.set_password(KEYRING_SERVICE, binding.name, secret)
        bindings = self.load()
        bindings[binding.name] = binding
        self.save(bindings)

    def remove(self, name: str) -> bool:
        """Forget the binding and delete the secret; False if neither existed."""
        import keyring
        from keyring.errors import PasswordDeleteError

        bindings = self.load()
        found = bindings.pop(name, None) is not None
        try:
            keyring.delete_password(KEYRING_SERVICE, name)
            found = True
        except PasswordDeleteError:
            pass
        self.save(bindings)
        return found


def secret_for(name: str) -> str | None:
    """The secret stored for `name`, or None. Blocking: may talk to the keyring daemon.

    A keyring that fails in any way (none installed, locked, its D-Bus service gone:
    backends raise their own exception types) gives None: the session then starts
    without that secret, and requests that need it are refused, never sent bare."""
    import keyring
    from keyring.errors import KeyringError

    try:
        return keyring.get_password(KEYRING_SERVICE, name)
    except KeyringError:
        return None
    except Exception:  # a backend's own error type
        logger.warning("the keyring failed reading %r", name, exc_info=True)
        return None
