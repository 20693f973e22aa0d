"""mitmproxy's Master as Sandgate runs it: its addons, its options, and its logging kept
off the root logger."""

from __future__ import annotations

import logging
from pathlib import Path

from mitmproxy import options
from mitmproxy.addons import next_layer, proxyserver, tlsconfig
from mitmproxy.master import Master

from sandbox.proxy.addon import PolicyAddon
from sandbox.proxy.framing import BodyFraming


def build_master(
    ca_dir: Path, server: proxyserver.Proxyserver, addon: PolicyAddon, upstream_bundle: Path
) -> Master:
    """A Master listening nowhere (connections are handed to it), with the policy addon."""
    opts = options.Options(confdir=str(ca_dir), mode=[])
    # mitmproxy logs every connection at INFO; Sandgate records events itself.
    logging.getLogger("mitmproxy").setLevel(logging.WARNING)
    master = Master(opts)
    keep_root_logging_ours()
    master.addons.add(  # type: ignore[no-untyped-call]
        server,
        next_layer.NextLayer(),
        tlsconfig.TlsConfig(),
        addon,
        BodyFraming(),  # after the policy: only what it lets through is framed
    )
    opts.update(  # type: ignore[no-untyped-call]
        connection_strategy="lazy",  # connect upstream only once a request is allowed
        ssl_insecure=False,
        ssl_verify_upstream_trusted_ca=str(upstream_bundle),
        # No global limit: mitmproxy checks it on response headers too, so it would cut
        # downloads. Request bodies are limited as they arrive, declared size or not
        # (sandbox.proxy.limits, put in place by the addon); responses stream.
        body_size_limit=None,
        stream_large_bodies=None,
        http3=False,
    )
    return master


def keep_root_logging_ours() -> None:
    """Move the log handler mitmproxy's Master puts on the root logger onto mitmproxy's
    own logger. On the root it would count as "logging configured", so Python's last
    resort handler would stay silent and every later Sandgate warning and error would
    be swallowed."""
    root = logging.getLogger()
    mitm = logging.getLogger("mitmproxy")
    for handler in list(root.handlers):
        if type(handler).__module__.startswith("mitmproxy"):
            root.removeHandler(handler)
            mitm.addHandler(handler)
