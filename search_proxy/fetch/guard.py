"""URL checks before any connection: scheme, user info, port, and every address the host has."""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from dataclasses import dataclass
from typing import Protocol

import httpx

from core.errors import UnsafeUrl, UpstreamError
from search_proxy.fetch.addresses import AddressGuard

SCHEMES = ("http", "https")
PORTS = (80, 443)
_DEFAULT_PORTS = {"http": 80, "https": 443}
# One part of a numeric IPv4 host as browsers and inet_aton() read it: hex, octal or decimal.
_IPV4_PART = re.compile(r"0[xX][0-9a-fA-F]*|0[0-7]*|[1-9][0-9]*")
_ENDS_IN_NUMBER = re.compile(r"[0-9]+|0[xX][0-9a-fA-F]*")


class Resolver(Protocol):
    """Turns a host name into addresses (DNS in production)."""

    async def resolve(self, host: str, port: int) -> list[str]:
        """Every address `host` has for TCP on `port`, as strings, none repeated.

        Raises:
            UpstreamError: the name does not resolve.
        """
        ...


class SystemResolver:
    """The operating system's resolver (`getaddrinfo`: /etc/hosts, then DNS)."""

    async def resolve(self, host: str, port: int) -> list[str]:
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as exc:
            raise UpstreamError(f"{host} does not resolve: {exc}") from exc
        return list(dict.fromkeys(str(info[4][0]) for info in infos))


@dataclass(frozen=True)
class Target:
    """A checked URL: where to connect (`addresses`, all checked) and what to ask for."""

    scheme: str
    host: str
    port: int
    path_and_query: str
    addresses: list[str]
    host_is_ip: bool = False

    @property
    def url(self) -> str:
        """The URL as a person reads it, with the host name (for messages and `final_url`)."""
        return f"{self.scheme}://{self.host_header}{self.path_and_query}"

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = self.port == _DEFAULT_PORTS[self.scheme]
        return host if default else f"{host}:{self.port}"

    def url_for(self, address: str) -> str:
        """The URL that connects to `address` itself, so DNS is never asked twice."""
        host = f"[{address}]" if ":" in address else address
        return f"{self.scheme}://{host}:{self.port}{self.path_and_query}"


class UrlGuard:
    """Checks a URL and resolves its host once; refuses it if any address is unsafe."""

    def __init__(self, addresses: AddressGuard, resolver: Resolver) -> None:
        self._addresses = addresses
        self._resolver = resolver

    async def check_url(self, url: str) -> Target:
        """The target to connect to.

        Raises:
            UnsafeUrl: bad scheme, user info, port, or an address that is not global.
            UpstreamError: the host name does not resolve.
        """
        try:
            parsed = httpx.URL(url)
        except httpx.InvalidURL as exc:
            raise UnsafeUrl(f"{url}: not a valid URL ({exc})") from exc
        if parsed.scheme not in SCHEMES:
            raise UnsafeUrl(f"{url}: only http and https are fetched, not {parsed.scheme!r}")
        if parsed.userinfo:
            raise UnsafeUrl(f"{url}: user info before the host ('user@host') is refused")
        host = parsed.raw_host.decode("ascii")
        if not host:
            raise UnsafeUrl(f"{url}: no host")
        port = _DEFAULT_PORTS[parsed.scheme] if parsed.port is None else parsed.port
        literal = _ip_literal(host, url)
        addresses = [literal] if literal else await self._resolver.resolve(host, port)
        if not addresses:
            raise UpstreamError(f"{url}: {host} has no address")
        try:
            checked = [str(self._addresses.check_address(address)) for address in addresses]
        except UnsafeUrl as exc:
            raise UnsafeUrl(f"{url}: {exc.message}") from exc
        if port not in PORTS and not all(map(self._addresses.is_allowed, checked)):
            raise UnsafeUrl(f"{url}: only ports 80 and 443 are fetched, not {port}")
        path = parsed.raw_path.decode("ascii")
        return Target(parsed.scheme, literal or host, port, path, checked, bool(literal))


def _ip_literal(host: str, url: str) -> str | None:
    """The address an IP-literal host names, in canonical form; None for a host name.

    Odd IPv4 spellings (`2130706433`, `0x7f.1`, `0177.0.0.1`, `127.1`) are read the way browsers
    and `inet_aton()` read them, so they meet the same rules as the dotted form.
    """
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        pass
    parts = host.split(".")
    if len(parts) > 1 and parts[-1] == "":
        parts.pop()
    if not _ENDS_IN_NUMBER.fullmatch(parts[-1]):
        return None
    if len(parts) > 4 or not all(_IPV4_PART.fullmatch(part) for part in parts):
        raise UnsafeUrl(f"{url}: {host!r} looks like an IPv4 address but is not a valid one")
    numbers = [_ipv4_part(part) for part in parts]
    last = numbers.pop()
    if any(number > 255 for number in numbers) or last >= 256 ** (4 - len(numbers)):
        raise UnsafeUrl(f"{url}: {host!r} is an IPv4 address out of range")
    value = last + sum(number << (8 * (3 - index)) for index, number in enumerate(numbers))
    return str(ipaddress.IPv4Address(value))


def _ipv4_part(part: str) -> int:
    if part[:2].lower() == "0x":
        return int(part[2:] or "0", 16)
    if len(part) > 1 and part.startswith("0"):
        return int(part, 8)
    return int(part)
