"""The egress proxy: the sandbox's only way out.

mitmproxy parses HTTP and TLS; the code here is policy (`rules`, `inspect`), the glue
that embeds mitmproxy in the service's event loop (`engine`, `addon`), the
per-installation CA (`ca`) and what the sandbox needs to use it (`plan`).
"""
