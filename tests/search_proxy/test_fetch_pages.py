"""PageFetcher against a real page server on loopback, reached through a stand-in DNS name."""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import pytest
from fastapi import FastAPI, Request, Response
from fastapi.responses import RedirectResponse, StreamingResponse

from core.errors import UnsafeUrl, UpstreamError, UpstreamTimeout
from search_proxy.fetch.fetcher import Page, PageFetcher
from search_proxy.settings import FetchSettings
from tests.search_proxy.test_fetch_guard import PUBLIC_V4, MapResolver
from tests.support.server import serve

NAME = "pages.example"
ARTICLE = """<!doctype html>
<html><head><title>Tide tables</title>
<style>body { color: red }</style>
<script>alert("no")</script></head>
<body><h1>High water</h1><p>The tide turns at <b>noon</b>.</p>
<script>document.write("hidden")</script><noscript>enable js</noscript>
<p>Low water follows six hours later.</p></body></html>"""
MAX_BYTES = 64 * 1024


class PageServer:
    """What the page server saw: one (path, Host, Cookie) per request."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str, str | None]] = []
        self.base = ""

    @property
    def port(self) -> int:
        return urlsplit(self.base).port or 80

    @property
    def paths(self) -> list[str]:
        return [path for path, _, _ in self.seen]


def _app(record: PageServer) -> FastAPI:
    app = FastAPI()

    @app.middleware("http")
    async def remember(request: Request, call_next):
        host = request.headers.get("host", "")
        record.seen.append((request.url.path, host, request.headers.get("cookie")))
        return await call_next(request)

    @app.get("/page")
    async def page() -> Response:
        return Response(ARTICLE, media_type="text/html")

    @app.get("/cookie")
    async def cookie() -> Response:
        response = Response(ARTICLE, media_type="text/html")
        response.set_cookie("session", "secret")
        return response

    @app.get("/plain")
    async def plain() -> Response:
        return Response("  just words\n", media_type="text/plain")

    @app.get("/gbk")
    async def gbk() -> Response:
        body = "<title>潮汐</title><p>正午涨潮</p>".encode("gbk")
        return Response(body, headers={"Content-Type": "text/html; charset=GBK"})

    @app.get("/long-text")
    async def long_text() -> Response:
        return Response("<p>" + "word " * 400 + "</p>", media_type="text/html")

    @app.get("/big")
    async def big() -> Response:
        body = "<p>start</p>" + "<p>" + "é" * MAX_BYTES + "</p><p>end</p>"
        # No charset: the page is decoded by our own rules, which a cut character would break.
        return Response(body.encode(), headers={"Content-Type": "text/html"})

    @app.get("/gzipped")
    async def gzipped() -> Response:
        body = gzip.compress(ARTICLE.encode())
        return Response(body, media_type="text/html", headers={"Content-Encoding": "gzip"})

    @app.get("/bomb")
    async def bomb() -> Response:
        body = gzip.compress(b"<p>" + b" " * (20 * 1024 * 1024), compresslevel=9)
        return Response(body, media_type="text/html", headers={"Content-Encoding": "gzip"})

    @app.get("/slow")
    async def slow() -> StreamingResponse:
        async def trickle() -> AsyncIterator[bytes]:
            for _ in range(200):
                yield b"<p>x</p>"
                await asyncio.sleep(0.05)

        return StreamingResponse(trickle(), media_type="text/html")

    @app.get("/pdf")
    async def pdf() -> Response:
        return Response(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", media_type="application/pdf")

    @app.get("/octets")
    async def octets() -> Response:
        return Response(b"\x00\x01\x02", media_type="application/octet-stream")

    @app.get("/missing")
    async def missing() -> Response:
        return Response("gone", status_code=404, media_type="text/html")

    @app.get("/redirect")
    async def redirect(to: str) -> RedirectResponse:
        return RedirectResponse(to, status_code=302)

    @app.get("/chain/{hops}")
    async def chain(hops: int) -> Response:
        if hops == 0:
            return Response(ARTICLE, media_type="text/html")
        return RedirectResponse(str(hops - 1), status_code=301)  # relative Location

    return app


@pytest.fixture(scope="module")
def server():
    record = PageServer()
    with serve(_app(record)) as base:
        record.base = base
        yield record


@pytest.fixture(autouse=True)
def _fresh_log(server):
    server.seen.clear()


def _fetcher(**settings) -> PageFetcher:
    """A fetcher for which `pages.example` is the loopback page server, and only it is allowed."""
    resolver = MapResolver({NAME: ["127.0.0.1"], "public.example": [PUBLIC_V4]})
    options = {"allowed_networks": ["127.0.0.1/32"], "max_bytes": MAX_BYTES, **settings}
    return PageFetcher(FetchSettings(**options), resolver=resolver)


def _url(server: PageServer, path: str) -> str:
    return f"http://{NAME}:{server.port}{path}"


async def test_a_page_is_fetched_from_the_checked_address_with_its_own_host(server):
    async with _fetcher() as fetcher:
        page = await fetcher.fetch(_url(server, "/page"))
    assert server.seen == [("/page", f"{NAME}:{server.port}", None)]
    assert page.url == page.final_url == _url(server, "/page")
    assert page.content_type == "text/html"
    assert page.title == "Tide tables"
    assert page.text == (
        "High water\n\nThe tide turns at noon.\n\nLow water follows six hours later."
    )
    assert not page.truncated


async def test_scripts_styles_and_noscript_leave_no_text(server):
    async with _fetcher() as fetcher:
        page = await fetcher.fetch(_url(server, "/page"))
    for hidden in ("alert", "color", "hidden", "enable js", "<"):
        assert hidden not in page.text


async def test_plain_text_and_a_declared_charset(server):
    async with _fetcher() as fetcher:
        plain = await fetcher.fetch(_url(server, "/plain"))
        chinese = await fetcher.fetch(_url(server, "/gbk"))
    assert (plain.title, plain.text, plain.content_type) == (None, "just words", "text/plain")
    assert (chinese.title, chinese.text) == ("潮汐", "正午涨潮")


async def test_cookies_a_page_sets_are_never_sent_back(server):
    async with _fetcher() as fetcher:
        await fetcher.fetch(_url(server, "/cookie"))
        await fetcher.fetch(_url(server, "/page"))
    assert [cookie for _, _, cookie in server.seen] == [None, None]


async def test_text_is_cut_at_max_text_chars(server):
    async with _fetcher(max_text_chars=100) as fetcher:
        page = await fetcher.fetch(_url(server, "/long-text"))
    assert page.text == ("word " * 20)[:100]
    assert page.truncated


async def test_a_body_over_max_bytes_is_cut_there(server):
    async with _fetcher(max_text_chars=2 * MAX_BYTES) as fetcher:
        page = await fetcher.fetch(_url(server, "/big"))
    assert page.truncated
    assert page.text.startswith("start\n\néé")
    assert "end" not in page.text
    # Cut inside a two-byte character: the text stays UTF-8, with no replacement character.
    assert set(page.text[len("start\n\n") :]) == {"é"}
    assert len(page.text) == len("start\n\n") + (MAX_BYTES - len("<p>start</p><p>")) // 2


async def test_a_gzipped_page_is_decoded(server):
    async with _fetcher() as fetcher:
        page = await fetcher.fetch(_url(server, "/gzipped"))
    assert page.title == "Tide tables"
    assert "The tide turns at noon." in page.text


async def test_a_gzip_bomb_is_refused(server):
    async with _fetcher() as fetcher:
        with pytest.raises(UpstreamError, match="decompression bomb"):
            await fetcher.fetch(_url(server, "/bomb"))


async def test_a_server_that_trickles_past_the_deadline_times_out(server):
    async with _fetcher(timeout_s=0.5) as fetcher:
        with pytest.raises(UpstreamTimeout, match=r"no page within 0\.5 s"):
            await fetcher.fetch(_url(server, "/slow"))
    assert server.paths == ["/slow"]


@pytest.mark.parametrize(
    ("path", "content_type"), [("/pdf", "application/pdf"), ("/octets", "application/octet-stream")]
)
async def test_binary_content_types_are_refused(server, path, content_type):
    async with _fetcher() as fetcher:
        with pytest.raises(UpstreamError, match=f"content type '{content_type}' is not a web page"):
            await fetcher.fetch(_url(server, path))


async def test_an_http_error_status_is_an_upstream_error(server):
    async with _fetcher() as fetcher:
        with pytest.raises(UpstreamError, match="answered HTTP 404"):
            await fetcher.fetch(_url(server, "/missing"))


async def test_relative_redirects_are_followed_and_rechecked(server):
    async with _fetcher(max_redirects=2) as fetcher:
        page = await fetcher.fetch(_url(server, "/chain/2"))
    assert page.title == "Tide tables"
    assert page.url == _url(server, "/chain/2")
    assert page.final_url == _url(server, "/chain/0")
    host = f"{NAME}:{server.port}"
    assert server.seen == [(f"/chain/{n}", host, None) for n in (2, 1, 0)]


async def test_a_redirect_chain_longer_than_max_redirects_is_refused(server):
    async with _fetcher(max_redirects=2) as fetcher:
        with pytest.raises(UpstreamError, match="more than 2 redirects"):
            await fetcher.fetch(_url(server, "/chain/3"))
    assert server.paths == ["/chain/3", "/chain/2", "/chain/1"]


@pytest.mark.parametrize(
    ("target", "address"),
    [
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254"),
        ("http://10.0.0.1/", "10.0.0.1"),
        ("http://[::1]:{port}/page", "::1"),
        ("http://2130706434:{port}/page", "127.0.0.2"),  # next to the allowed 127.0.0.1
        ("http://public.example:{port}/page", "port"),
        ("file:///etc/passwd", "only http and https"),
    ],
)
async def test_a_redirect_to_a_refused_url_is_refused(server, target, address):
    location = target.format(port=server.port)
    async with _fetcher(allowed_networks=["127.0.0.1/32"]) as fetcher:
        with pytest.raises(UnsafeUrl, match="redirects to a refused URL") as caught:
            await fetcher.fetch(_url(server, f"/redirect?to={location}"))
    assert address in caught.value.message
    assert server.paths == ["/redirect"]


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1:{port}/page", "loopback"),
        ("http://localhost:{port}/page", "loopback"),
        ("http://2130706433:{port}/page", "loopback"),
        ("http://0x7f.1:{port}/page", "loopback"),
        ("http://[::ffff:127.0.0.1]:{port}/page", "IPv4-mapped 127.0.0.1"),
        ("http://0.0.0.0:{port}/page", "this network"),
        ("http://user@127.0.0.1:{port}/page", "user info"),
    ],
)
async def test_the_local_page_server_is_out_of_reach_by_default(server, url, reason):
    # The real system resolver and no allowed network: what production runs with.
    async with PageFetcher(FetchSettings()) as fetcher:
        with pytest.raises(UnsafeUrl, match=reason):
            await fetcher.fetch(url.format(port=server.port))
    assert server.seen == []


async def test_an_odd_spelling_reaches_the_address_it_names_once_allowed(server):
    # The counterpart of the refusals above: 2130706433 really is 127.0.0.1.
    async with _fetcher(allowed_networks=["127.0.0.0/8"]) as fetcher:
        page = await fetcher.fetch(f"http://2130706433:{server.port}/page")
    assert page.title == "Tide tables"
    assert page.final_url == f"http://127.0.0.1:{server.port}/page"
    assert server.seen == [("/page", f"127.0.0.1:{server.port}", None)]


async def test_a_public_address_on_another_port_is_refused_before_connecting():
    async with _fetcher(connect_timeout_s=0.2, timeout_s=0.5) as fetcher:
        with pytest.raises(UnsafeUrl, match="only ports 80 and 443 are fetched, not 8080"):
            await fetcher.fetch("http://public.example:8080/")


async def test_fetch_many_returns_every_outcome_in_order(server):
    urls = [_url(server, "/page"), "http://169.254.169.254/latest/meta-data/"]
    urls.append(_url(server, "/pdf"))
    async with _fetcher() as fetcher:
        good, refused, binary = await fetcher.fetch_many(urls)
    assert isinstance(good, Page)
    assert good.title == "Tide tables"
    assert isinstance(refused, UnsafeUrl)
    assert "169.254.169.254" in refused.message
    assert isinstance(binary, UpstreamError)
    assert sorted(server.paths) == ["/page", "/pdf"]


async def test_the_next_checked_address_is_tried_when_one_refuses_the_connection(server):
    # Nothing listens on 127.0.0.2: the connection is refused at once, then 127.0.0.1 answers.
    resolver = MapResolver(
        {"two.example": ["127.0.0.2", "127.0.0.1"], "none.example": ["127.0.0.2"]}
    )
    settings = FetchSettings(allowed_networks=["127.0.0.0/8"])
    async with PageFetcher(settings, resolver=resolver) as fetcher:
        page = await fetcher.fetch(f"http://two.example:{server.port}/page")
        with pytest.raises(UpstreamError, match=r"no address of none\.example answers"):
            await fetcher.fetch(f"http://none.example:{server.port}/page")
    assert page.title == "Tide tables"
    assert server.seen == [("/page", f"two.example:{server.port}", None)]
