"""The SSRF guard on its own: address rules, URL rules, odd IP spellings, resolution."""

from __future__ import annotations

from ipaddress import ip_address

import pytest

from core.errors import ConfigurationError, UnsafeUrl, UpstreamError
from search_proxy.fetch.addresses import AddressGuard
from search_proxy.fetch.guard import SystemResolver, Target, UrlGuard

PUBLIC_V4 = "93.184.215.14"
PUBLIC_V6 = "2606:2800:21f:cb07:6820:80da:af6b:8b2c"


class MapResolver:
    """A stand-in for DNS: fixed answers, and a log of every name it was asked."""

    def __init__(self, answers: dict[str, list[str]]) -> None:
        self.answers = answers
        self.asked: list[str] = []

    async def resolve(self, host: str, port: int) -> list[str]:
        self.asked.append(host)
        if host not in self.answers:
            raise UpstreamError(f"{host} does not resolve")
        return list(self.answers[host])


@pytest.mark.parametrize(
    ("ip", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("127.255.0.9", "loopback"),
        ("::1", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("172.31.255.254", "private"),
        ("192.168.1.1", "private"),
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("fc00::1", "private"),
        ("100.64.0.1", "carrier-grade NAT"),
        ("100.127.255.254", "carrier-grade NAT"),
        ("0.0.0.0", "this network"),
        ("0.1.2.3", "this network"),
        ("::", "unspecified"),
        ("::ffff:127.0.0.1", "IPv4-mapped 127.0.0.1, which is loopback"),
        ("::ffff:169.254.169.254", "IPv4-mapped 169.254.169.254"),
        ("::7f00:1", "reserved"),  # IPv4-compatible ::127.0.0.1
        ("64:ff9b::a00:1", "NAT64"),
        ("64:ff9b::5db8:d70e", "NAT64"),  # even a public IPv4 inside: refused outright
        ("64:ff9b:1::1", "NAT64"),
        ("2002:7f00:1::1", "6to4"),
        ("2001::1", "private"),  # Teredo
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("fec0::1", "site-local"),
        ("240.0.0.1", "private"),
        ("255.255.255.255", "private"),
        ("198.18.0.1", "private"),
    ],
)
def test_non_global_addresses_are_refused_with_the_reason(ip, reason):
    with pytest.raises(UnsafeUrl, match="refused") as caught:
        AddressGuard().check_address(ip)
    assert reason in caught.value.message
    assert caught.value.status_code == 400


@pytest.mark.parametrize("ip", [PUBLIC_V4, "8.8.8.8", "1.1.1.1", PUBLIC_V6, "::ffff:93.184.215.14"])
def test_global_addresses_pass(ip):
    assert AddressGuard().check_address(ip) is not None


def test_allowed_networks_exempt_only_their_own_addresses():
    guard = AddressGuard(["127.0.0.1/32", "10.20.0.0/16"])
    assert str(guard.check_address("127.0.0.1")) == "127.0.0.1"
    assert guard.check_address("::ffff:127.0.0.1") == ip_address("::ffff:127.0.0.1")
    assert str(guard.check_address("10.20.3.4")) == "10.20.3.4"
    for still_refused in ("127.0.0.2", "::1", "10.21.0.1", "169.254.169.254"):
        with pytest.raises(UnsafeUrl):
            guard.check_address(still_refused)


@pytest.mark.parametrize("cidr", ["10.0.0.1/8", "not-a-network", "10.0.0.0/33"])
def test_a_bad_allowed_network_is_a_configuration_error(cidr):
    with pytest.raises(ConfigurationError, match="allowed_networks"):
        AddressGuard([cidr])


def _guard(
    answers: dict[str, list[str]] | None = None, allowed: tuple[str, ...] | list[str] = ()
) -> tuple[UrlGuard, MapResolver]:
    resolver = MapResolver(answers or {})
    return UrlGuard(AddressGuard(allowed), resolver), resolver


@pytest.mark.parametrize(
    ("url", "address"),
    [
        ("http://127.0.0.1/", "127.0.0.1"),
        ("http://[::1]/", "::1"),
        ("http://10.0.0.5/", "10.0.0.5"),
        ("http://172.16.4.4/", "172.16.4.4"),
        ("http://192.168.0.1/", "192.168.0.1"),
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254"),
        ("http://100.64.1.1/", "100.64.1.1"),
        ("http://0.0.0.0/", "0.0.0.0"),
        ("http://0/", "0.0.0.0"),
        ("http://2130706433/", "127.0.0.1"),
        ("http://0x7f.1/", "127.0.0.1"),
        ("http://0X7F000001/", "127.0.0.1"),
        ("http://0177.1/", "127.0.0.1"),
        ("http://127.1/", "127.0.0.1"),
        ("http://127.0.0.1./", "127.0.0.1"),
        ("http://0xa9.0xfe.0xa9.0xfe/", "169.254.169.254"),
        ("http://[::ffff:127.0.0.1]/", "::ffff:127.0.0.1"),
        ("http://[::ffff:7f00:1]/", "::ffff:127.0.0.1"),
        ("https://[fe80::1%25eth0]/", "fe80::1%25eth0"),
    ],
)
async def test_ip_literals_in_any_spelling_are_refused_without_resolving(url, address):
    guard, resolver = _guard()
    with pytest.raises(UnsafeUrl, match="refused") as caught:
        await guard.check_url(url)
    assert f"address {ip_address(address)}" in caught.value.message
    assert resolver.asked == []


async def test_an_odd_spelling_of_a_public_address_is_read_as_browsers_read_it():
    guard, resolver = _guard()
    target = await guard.check_url("http://1572394766/a?b=1#frag")  # 93.184.215.14
    assert target.addresses == [PUBLIC_V4]
    assert (target.host, target.port, target.path_and_query) == (PUBLIC_V4, 80, "/a?b=1")
    assert target.host_is_ip
    assert resolver.asked == []


@pytest.mark.parametrize(
    "url",
    [
        "http://1.2.3.256/",
        "http://1.2.3.4.5/",
        "http://08.1.2.3/",
        "http://example.123/",
        "http://0177.0.0.1/",  # httpx itself refuses leading zeros in a dotted quad
    ],
)
async def test_numeric_hosts_that_are_no_valid_address_are_refused(url):
    guard, resolver = _guard()
    with pytest.raises(UnsafeUrl, match="IPv4 address"):
        await guard.check_url(url)
    assert resolver.asked == []


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "ftp://public.example/file",
        "gopher://public.example:70/_GET",
        "dict://public.example:11211/stat",
        "data:text/html,<p>hi</p>",
    ],
)
async def test_other_schemes_are_refused_without_resolving(url):
    guard, resolver = _guard({"public.example": [PUBLIC_V4]})
    with pytest.raises(UnsafeUrl, match="only http and https"):
        await guard.check_url(url)
    assert resolver.asked == []


@pytest.mark.parametrize(
    "url",
    [
        "http://user@public.example/",
        "https://user:secret@public.example/",
        f"http://public.example@{PUBLIC_V4}/",
        "http://public.example\\@127.0.0.1/",
    ],
)
async def test_user_info_is_refused(url):
    guard, resolver = _guard({"public.example": [PUBLIC_V4]})
    with pytest.raises(UnsafeUrl, match="user info"):
        await guard.check_url(url)
    assert resolver.asked == []


@pytest.mark.parametrize("port", [0, 22, 6333, 8080, 9998])
async def test_other_ports_on_a_public_address_are_refused(port):
    guard, resolver = _guard({"public.example": [PUBLIC_V4]})
    with pytest.raises(UnsafeUrl, match=f"not {port}"):
        await guard.check_url(f"http://public.example:{port}/")
    assert resolver.asked == ["public.example"]


async def test_ports_80_and_443_pass_and_name_the_target():
    guard, _ = _guard({"public.example": [PUBLIC_V4, PUBLIC_V6]})
    plain = await guard.check_url("http://Public.Example/a%20b?q=1")
    assert plain == Target("http", "public.example", 80, "/a%20b?q=1", [PUBLIC_V4, PUBLIC_V6])
    assert plain.url == "http://public.example/a%20b?q=1"
    assert plain.url_for(PUBLIC_V6) == f"http://[{PUBLIC_V6}]:80/a%20b?q=1"
    tls = await guard.check_url("https://public.example:443")
    assert (tls.port, tls.host_header, tls.path_and_query) == (443, "public.example", "/")
    odd = await guard.check_url("https://public.example:80/")
    assert odd.host_header == "public.example:80"


async def test_any_port_is_allowed_inside_the_operators_networks():
    guard, _ = _guard({"intranet.example": ["10.20.0.7"]}, allowed=["10.20.0.0/16"])
    target = await guard.check_url("http://intranet.example:8080/wiki")
    assert target.addresses == ["10.20.0.7"]
    assert target.host_header == "intranet.example:8080"


async def test_one_unsafe_address_among_public_ones_refuses_the_url():
    guard, _ = _guard({"rebind.example": [PUBLIC_V4, "10.0.0.1", PUBLIC_V6]})
    with pytest.raises(UnsafeUrl, match=r"rebind\.example.*address 10\.0\.0\.1 is refused"):
        await guard.check_url("http://rebind.example/")


async def test_an_unresolvable_name_is_an_upstream_error():
    guard, _ = _guard()
    with pytest.raises(UpstreamError, match="does not resolve"):
        await guard.check_url("http://nowhere.example/")


async def test_localhost_resolves_to_loopback_and_is_refused():
    assert "127.0.0.1" in await SystemResolver().resolve("localhost", 80)
    guard = UrlGuard(AddressGuard(), SystemResolver())
    with pytest.raises(UnsafeUrl, match="loopback"):
        await guard.check_url("http://localhost/")
