"""Sandgate's per-installation CA: made on first start, key 0600, trusted only in sandboxes."""

from __future__ import annotations

import os
import ssl
from collections.abc import Iterable
from pathlib import Path

from mitmproxy.certs import CertStore
from mitmproxy.options import CONF_BASENAME

KEY_SIZE = 2048


def ensure_ca(folder: Path) -> Path:
    """Create the CA in `folder` (0700) if it is missing; return the public certificate.

    The files are in mitmproxy's layout (`mitmproxy-ca.pem` holds key and certificate),
    so mitmproxy's certificate store, pointed at `folder`, signs with it.
    """
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    folder.chmod(0o700)
    if not (folder / f"{CONF_BASENAME}-ca.pem").exists():
        CertStore.create_store(
            folder,
            CONF_BASENAME,
            KEY_SIZE,
            organization="Sandgate",
            cn="Sandgate per-installation CA (sandboxes only)",
        )
    for path in folder.iterdir():
        path.chmod(0o600)
    return folder / f"{CONF_BASENAME}-ca-cert.pem"


def system_ca_file() -> Path | None:
    """The system's CA bundle, or certifi's when the system has none."""
    paths = ssl.get_default_verify_paths()
    for candidate in (paths.cafile, paths.openssl_cafile, "/etc/ssl/certs/ca-certificates.crt"):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    try:
        import certifi
    except ImportError:  # pragma: no cover - certifi comes with mitmproxy
        return None
    return Path(certifi.where())


def write_bundle(target: Path, parts: Iterable[Path | None]) -> Path:
    """Concatenate PEM files into `target` (0644: certificates are public), atomically."""
    chunks = []
    for part in parts:
        if part is not None:
            text = part.read_text()
            chunks.append(text if text.endswith("\n") else text + "\n")
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_text("".join(chunks))
    os.chmod(tmp, 0o644)
    tmp.replace(target)
    return target
