"""Host classification: what the catalogues and the address itself say about a host.

The answer depends only on the name, so it is memoised; what depends on the session
(new to it? under a bound domain?) is added by the engine when it builds `Host`.
"""

from __future__ import annotations

import ipaddress
from typing import NamedTuple

from triage.catalogues import Catalogues, DestinationClass

_CACHE_SIZE = 4096


class HostInfo(NamedTuple):
    klass: DestinationClass | None
    metadata: bool  # a cloud metadata endpoint
    private: bool  # loopback, private range, link-local, reserved, localhost
    ip: bool  # written as an address
    punycode: bool  # an xn-- label or non-ASCII characters


def normalise_host(name: str) -> str:
    """Lower-case, without a trailing dot or IPv6 brackets."""
    name = name.strip().rstrip(".").lower()
    if name.startswith("[") and name.endswith("]"):
        name = name[1:-1]
    return name


def strip_port(destination: str) -> str:
    """`host:port` or `[v6]:port` as the shell analysis reports it, without the port."""
    if destination.startswith("["):
        return destination[1 : destination.find("]")] if "]" in destination else destination
    if destination.count(":") == 1:
        return destination.split(":", 1)[0]
    return destination


def parse_ip(name: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address a host name spells, including the integer forms resolvers accept."""
    if not name or not (name[0].isdigit() or ":" in name):
        return None
    try:
        return _unwrap(ipaddress.ip_address(name))
    except ValueError:
        pass
    try:  # 2130706433 and 0x7f000001 are 127.0.0.1 to most resolvers
        return ipaddress.ip_address(int(name, 0))
    except ValueError:
        return None


_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


def _unwrap(
    address: ipaddress.IPv4Address | ipaddress.IPv6Address,
) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """The IPv4 address inside an IPv4-mapped (::ffff:a.b.c.d) or NAT64 (64:ff9b::/96)
    IPv6 spelling: both reach the IPv4 host, so both must be judged as it is."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address in _NAT64:
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address


class HostClassifier:
    """Classifies normalised host names against the catalogues, memoised."""

    def __init__(self, catalogues: Catalogues) -> None:
        self.catalogues = catalogues
        self._cache: dict[str, HostInfo] = {}

    def __call__(self, name: str) -> HostInfo:
        info = self._cache.get(name)
        if info is None:
            info = self._classify(name)
            if len(self._cache) >= _CACHE_SIZE:
                self._cache.clear()
            self._cache[name] = info
        return info

    def _classify(self, name: str) -> HostInfo:
        dest = self.catalogues.destination(name)
        address = parse_ip(name)
        private = name == "localhost" or name.endswith(".localhost")
        metadata = dest.metadata
        if address is not None:
            private = private or (
                address.is_private
                or address.is_loopback
                or address.is_link_local
                or address.is_unspecified
                or address.is_reserved
            )
            metadata = metadata or str(address) in self.catalogues.metadata_addresses
        punycode = not name.isascii() or any(label.startswith("xn--") for label in name.split("."))
        return HostInfo(dest.klass, metadata, private, address is not None, punycode)
