"""The agent's environment: the caller's, minus secrets and host-socket addresses.

A variable is removed when its name looks like a secret (`AWS_*`, `*_TOKEN`,
`*SECRET*`, `*_API_KEY`, `*PASSWORD*`, ...), when its value looks like one (a known
token format or a URL with a password in it), or when the policy blocks it; the
policy's `env.pass` lets a named one through. Variables that point at host sockets
(D-Bus, ssh-agent, X11, Wayland, ...) are always removed: nothing would answer inside,
and their presence only invites a probe.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from sandbox.patterns import matches
from sandbox.policy import EnvPolicy

SECRET_NAMES: tuple[str, ...] = (
    "AWS_*",
    "AZURE_*",
    "*_TOKEN",
    "*_TOKEN_*",
    "TOKEN",
    "*SECRET*",
    "*_API_KEY",
    "*_APIKEY",
    "API_KEY",
    "*_ACCESS_KEY*",
    "*_PRIVATE_KEY*",
    "*PASSWORD*",
    "*PASSWD*",
    "*_PASS",
    "*_PASSPHRASE",
    "*_CREDENTIALS",
    "*_CREDENTIAL",
    "*_AUTH",
    "*_AUTH_*",
    "GITHUB_TOKEN",
    "GH_TOKEN",
    "GITLAB_TOKEN",
    "NPM_TOKEN",
    "NODE_AUTH_TOKEN",
    "PYPI_TOKEN",
    "TWINE_PASSWORD",
    "HF_TOKEN",
    "HUGGING_FACE_HUB_TOKEN",
    "OPENAI_API_KEY",
    "ANTHROPIC_API_KEY",
    "GEMINI_API_KEY",
    "GOOGLE_API_KEY",
    "GOOGLE_APPLICATION_CREDENTIALS",
    "DATABASE_URL",
    "KUBECONFIG",
    "VAULT_*",
    "DOCKER_AUTH_CONFIG",
    "KRB5CCNAME",
)

# Host sockets and sessions: always removed, whatever the policy says.
HOST_SOCKETS: tuple[str, ...] = (
    "DISPLAY",
    "WAYLAND_DISPLAY",
    "WAYLAND_SOCKET",
    "XAUTHORITY",
    "DBUS_SESSION_BUS_ADDRESS",
    "DBUS_SYSTEM_BUS_ADDRESS",
    "SSH_AUTH_SOCK",
    "SSH_AGENT_PID",
    "GPG_AGENT_INFO",
    "GNOME_KEYRING_CONTROL",
    "SESSION_MANAGER",
    "DOCKER_HOST",
    "XDG_RUNTIME_DIR",
    "PULSE_SERVER",
    "SANDGATE_*",
)

_SECRET_VALUES = re.compile(
    r"(?:AKIA|ASIA)[A-Z0-9]{16}"  # AWS access key id
    r"|gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,}"
    r"|glpat-[A-Za-z0-9_-]{20,}"
    r"|sk-[A-Za-z0-9_-]{20,}"  # OpenAI, Anthropic (sk-ant-...)
    r"|xox[abposr]-[A-Za-z0-9-]{10,}"  # Slack
    r"|AIza[0-9A-Za-z_-]{35}"  # Google API key
    r"|npm_[A-Za-z0-9]{36}|pypi-[A-Za-z0-9_-]{50,}|hf_[A-Za-z0-9]{30,}"
    r"|-----BEGIN [A-Z ]*PRIVATE KEY-----"
    r"|[a-z][a-z0-9+.-]*://[^/\s:@]+:[^/\s@]+@"  # URL with user:password@
)


@dataclass(frozen=True)
class CleanEnv:
    """The environment for the agent, and the names of the secrets removed from it (never
    the values). Host-socket variables are dropped too but not listed: that happens on
    every run by design, and listing it would bury the names worth reading."""

    env: dict[str, str]
    removed: tuple[str, ...]


def _any(patterns: tuple[str, ...], name: str) -> bool:
    return any(matches(p, name) for p in patterns)


def looks_secret(name: str, value: str) -> bool:
    """Whether a variable looks like it carries a secret, by its name or its value."""
    return _any(SECRET_NAMES, name.upper()) or _SECRET_VALUES.search(value) is not None


def clean_environment(env: Mapping[str, str], policy: EnvPolicy) -> CleanEnv:
    """Remove host-socket addresses, secret-looking and blocked variables; apply `set`."""
    kept: dict[str, str] = {}
    removed: list[str] = []
    for name, value in env.items():
        if _any(HOST_SOCKETS, name):
            continue
        if _any(policy.block, name) or (looks_secret(name, value) and not _any(policy.pass_, name)):
            removed.append(name)
        else:
            kept[name] = value
    kept.update(policy.set)
    return CleanEnv(kept, tuple(sorted(removed)))
