"""Which IP addresses a fetched page may live at: global ones, and the operator's own networks."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from core.errors import ConfigurationError, UnsafeUrl

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# `is_global` misses these on Python 3.11: ranges that reach private hosts or embed an IPv4
# address that the IPv4 rules never see.
_SPECIAL: tuple[tuple[IPNetwork, str], ...] = (
    (ipaddress.ip_network("0.0.0.0/8"), "'this network' (0.0.0.0/8), which reaches this host"),
    (ipaddress.ip_network("100.64.0.0/10"), "carrier-grade NAT space (100.64.0.0/10)"),
    (ipaddress.ip_network("64:ff9b::/96"), "NAT64 (64:ff9b::/96), which embeds an IPv4 address"),
    (ipaddress.ip_network("64:ff9b:1::/48"), "local-use NAT64 (64:ff9b:1::/48)"),
    (ipaddress.ip_network("2002::/16"), "6to4 (2002::/16), which embeds an IPv4 address"),
)


def _unsafe_because(address: IPAddress) -> str | None:
    """Why `address` must not be fetched from, or None when it is a global unicast address."""
    for network, reason in _SPECIAL:
        if address in network:
            return reason
    checks = (
        (address.is_unspecified, "unspecified"),
        (address.is_loopback, "loopback"),
        (address.is_link_local, "link-local (cloud metadata lives here)"),
        (address.is_private, "private"),
        (address.is_multicast, "multicast"),
        (address.is_reserved, "reserved"),
        (isinstance(address, ipaddress.IPv6Address) and address.is_site_local, "site-local"),
        (not address.is_global, "not globally routable"),
    )
    return next((reason for failed, reason in checks if failed), None)


class AddressGuard:
    """Refuses every address that is not global unicast, unless the operator allowed its network.

    Args:
        allowed_networks: CIDRs exempt from the rules (an intranet the operator trusts);
            a page inside them may also use any port.

    Raises:
        ConfigurationError: an entry is not a network in CIDR notation.
    """

    def __init__(self, allowed_networks: Iterable[str] = ()) -> None:
        self._allowed: list[IPNetwork] = []
        for cidr in allowed_networks:
            try:
                self._allowed.append(ipaddress.ip_network(cidr))
            except ValueError as exc:
                raise ConfigurationError(f"fetch.allowed_networks: {cidr!r}: {exc}") from exc

    def is_allowed(self, ip: str) -> bool:
        """Whether `ip` is inside one of the operator's allowed networks."""
        address = _effective(ipaddress.ip_address(ip))
        return any(address in network for network in self._allowed)

    def check_address(self, ip: str) -> IPAddress:
        """The parsed address when a page may be fetched from it.

        Raises:
            UnsafeUrl: it is not a global unicast address (says which rule) and not allowed.
        """
        try:
            parsed = ipaddress.ip_address(ip)
        except ValueError as exc:
            raise UnsafeUrl(f"{ip!r} is not an IP address") from exc
        address = _effective(parsed)
        if any(address in network for network in self._allowed):
            return parsed
        reason = _unsafe_because(address)
        if reason is None:
            return parsed
        if address is not parsed:
            reason = f"IPv4-mapped {address}, which is {reason}"
        raise UnsafeUrl(f"address {parsed} is refused: {reason}")


def _effective(address: IPAddress) -> IPAddress:
    """The IPv4 address a socket really reaches for `::ffff:a.b.c.d`, else `address` itself."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address
