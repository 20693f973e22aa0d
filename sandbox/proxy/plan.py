"""What the sandbox needs to reach its session's proxy (read by `sandbox.plan`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

# Where `sandbox.plan` binds the session socket and the CA bundle inside the sandbox.
SANDBOX_SOCKET = Path("/run/sandgate/proxy.sock")
SANDBOX_CA_BUNDLE = Path("/run/sandgate/ca-bundle.pem")
DEFAULT_PORT = 3128


@dataclass(frozen=True)
class NetworkPlan:
    """One session's way out.

    `host_socket` is bound at `SANDBOX_SOCKET`; `socat` inside listens on
    `127.0.0.1:port` and relays to it; `ca_bundle` (system CAs plus Sandgate's) is bound
    read-only at `SANDBOX_CA_BUNDLE`, where the variables in `env` point.
    `login_files` are (copy, path) pairs: the agent's own login files, each copy (tokens
    replaced by placeholders, `sandbox.logins`) shown read-write at the path, instead
    of a decoy. `login_tokens` is the proxy's live map of the session's login
    placeholders (placeholder → real): a staged settings file that holds a token shows
    the same placeholder (`sandbox.agent_settings`).
    """

    host_socket: Path
    port: int
    env: Mapping[str, str] = field(default_factory=dict)
    ca_bundle: Path | None = None
    login_files: tuple[tuple[Path, Path], ...] = ()
    login_tokens: Mapping[str, str] = field(default_factory=dict)
    placeholders: tuple[str, ...] = ()  # names in `env` that carry a secret's placeholder


def proxy_env(port: int, ca_bundle: Path | None = SANDBOX_CA_BUNDLE) -> dict[str, str]:
    """The variables that make common clients use the proxy and trust Sandgate's CA.

    Loopback is deliberately not exempted with NO_PROXY: inside the sandbox loopback
    leads nowhere but the bridge itself.
    """
    url = f"http://127.0.0.1:{port}"
    env: dict[str, str] = {}
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "FTP_PROXY"):
        env[name] = url
        env[name.lower()] = url
    env["NO_PROXY"] = env["no_proxy"] = ""
    env |= {
        "npm_config_proxy": url,
        "npm_config_https_proxy": url,
        "YARN_HTTP_PROXY": url,
        "YARN_HTTPS_PROXY": url,
        "PIP_PROXY": url,
        "CARGO_HTTP_PROXY": url,
        "GIT_HTTP_PROXY": url,
        "NODE_USE_ENV_PROXY": "1",  # Node 24+: fetch and http honour the variables above
        "GLOBAL_AGENT_HTTP_PROXY": url,
        "JAVA_TOOL_OPTIONS": (
            f"-Dhttp.proxyHost=127.0.0.1 -Dhttp.proxyPort={port} "
            f"-Dhttps.proxyHost=127.0.0.1 -Dhttps.proxyPort={port} -Dhttp.nonProxyHosts="
        ),
    }
    if ca_bundle is not None:
        ca = str(ca_bundle)
        for name in (
            "SSL_CERT_FILE",
            "REQUESTS_CA_BUNDLE",
            "NODE_EXTRA_CA_CERTS",
            "GIT_SSL_CAINFO",
            "CURL_CA_BUNDLE",
            "PIP_CERT",
            "CARGO_HTTP_CAINFO",
            "npm_config_cafile",
            "AWS_CA_BUNDLE",
            "HTTPLIB2_CA_CERTS",
            "GRPC_DEFAULT_SSL_ROOTS_FILE_PATH",
            "DENO_CERT",
            "BUNDLE_SSL_CA_CERT",
            "NIX_SSL_CERT_FILE",
        ):
            env[name] = ca
    return env
