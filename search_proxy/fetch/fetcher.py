"""PageFetcher: a page per URL, fetched from the address the guard checked, every hop re-checked."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from http.cookiejar import CookieJar, DefaultCookiePolicy
from types import TracebackType

import httpx

from core.errors import RagError, UnsafeUrl, UpstreamError, UpstreamTimeout
from search_proxy.fetch.addresses import AddressGuard
from search_proxy.fetch.body import read_capped
from search_proxy.fetch.guard import Resolver, SystemResolver, Target, UrlGuard
from search_proxy.fetch.text import HTML_TYPES, TEXT_TYPES, page_text
from search_proxy.settings import FetchSettings

logger = logging.getLogger(__name__)

CONTENT_TYPES = (*HTML_TYPES, *TEXT_TYPES)
_HEADERS = {
    "User-Agent": "Mozilla/5.0 (compatible; knowledge-assistant-fetcher/0.1)",
    "Accept": "text/html,application/xhtml+xml,text/plain;q=0.8",
    "Accept-Encoding": "gzip",
}


@dataclass(frozen=True)
class Page:
    """A fetched page as clean text; `final_url` is where the redirects ended."""

    url: str
    final_url: str
    title: str | None
    text: str
    content_type: str
    truncated: bool = False


class PageFetcher:
    """Fetches result pages behind the SSRF guard; one client for its whole life (`aclose`).

    Args:
        settings: caps on bytes, time, redirects and text, and the operator's allowed networks.
        resolver: how host names become addresses; the system resolver by default.
    """

    def __init__(self, settings: FetchSettings, *, resolver: Resolver | None = None) -> None:
        self._settings = settings
        self._guard = UrlGuard(
            AddressGuard(settings.allowed_networks), resolver or SystemResolver()
        )
        self._client = httpx.AsyncClient(
            headers=_HEADERS,
            # A jar whose policy accepts no domain: no page sets a cookie that another sees.
            cookies=CookieJar(DefaultCookiePolicy(allowed_domains=[])),
            timeout=httpx.Timeout(settings.timeout_s, connect=settings.connect_timeout_s),
            # Pooled connections are keyed by IP: one opened with another name's SNI must not
            # be reused, so none is kept.
            limits=httpx.Limits(max_keepalive_connections=0),
            follow_redirects=False,
            trust_env=False,
        )

    async def fetch(self, url: str) -> Page:
        """The page at `url`, after at most `max_redirects` re-checked redirects.

        Raises:
            UnsafeUrl: the guard refused the URL or a redirect (the message says why).
            UpstreamTimeout: the page was not complete within `timeout_s`, redirects included.
            UpstreamError: HTTP error status, content type not a web page, unreadable body,
                or too many redirects.
        """
        try:
            async with asyncio.timeout(self._settings.timeout_s):
                return await self._follow(url)
        except (TimeoutError, httpx.TimeoutException) as exc:
            raise UpstreamTimeout(f"{url}: no page within {self._settings.timeout_s:g} s") from exc
        except httpx.HTTPError as exc:
            raise UpstreamError(f"{url}: fetch failed ({exc!r})") from exc

    async def fetch_many(self, urls: Sequence[str]) -> list[Page | RagError]:
        """Every URL at once; each entry is its page or why it failed, in the same order."""
        return list(await asyncio.gather(*(self._fetch_or_error(url) for url in urls)))

    async def aclose(self) -> None:
        await self._client.aclose()

    async def __aenter__(self) -> PageFetcher:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def _fetch_or_error(self, url: str) -> Page | RagError:
        try:
            return await self.fetch(url)
        except RagError as exc:
            logger.warning("page not fetched: %s", exc.message)
            return exc
        except Exception as exc:  # one broken page must never sink the others
            logger.exception("page fetch crashed: %s", url)
            return RagError(f"{url}: fetch failed unexpectedly ({exc!r})")

    async def _follow(self, url: str) -> Page:
        current = url
        for hop in range(self._settings.max_redirects + 1):
            try:
                target = await self._guard.check_url(current)
            except UnsafeUrl as exc:
                if hop == 0:
                    raise
                raise UnsafeUrl(f"{url} redirects to a refused URL: {exc.message}") from exc
            response = await self._open(target)
            try:
                if not response.is_redirect:
                    return await self._read(url, target, response)
            finally:
                await response.aclose()
            current = _next_hop(target, response.headers["location"])
        raise UpstreamError(f"{url}: more than {self._settings.max_redirects} redirects")

    async def _open(self, target: Target) -> httpx.Response:
        """Send the request to each checked address in turn until one accepts the connection."""
        extensions = {} if target.host_is_ip else {"sni_hostname": target.host}
        failure: httpx.TransportError | None = None
        for address in target.addresses:
            request = self._client.build_request(
                "GET",
                target.url_for(address),
                headers={"Host": target.host_header},
                extensions=extensions,
            )
            try:
                return await self._client.send(request, stream=True)
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                failure = exc
        raise UpstreamError(f"{target.url}: no address of {target.host} answers ({failure!r})")

    async def _read(self, url: str, target: Target, response: httpx.Response) -> Page:
        if not response.is_success:
            raise UpstreamError(f"{target.url} answered HTTP {response.status_code}")
        header = response.headers.get("content-type", "")
        media_type = header.split(";")[0].strip().lower()
        if media_type not in CONTENT_TYPES:
            raise UpstreamError(
                f"{target.url}: content type {media_type or '(none)'!r} is not a web page "
                f"(fetched: {', '.join(CONTENT_TYPES)})"
            )
        body = await read_capped(response, self._settings.max_bytes, target.url)
        title, text = await asyncio.to_thread(
            page_text, body.data, media_type, response.charset_encoding, target.url
        )
        limit = self._settings.max_text_chars
        return Page(
            url=url,
            final_url=target.url,
            title=title,
            text=text[:limit],
            content_type=media_type,
            truncated=body.truncated or len(text) > limit,
        )


def _next_hop(target: Target, location: str) -> str:
    """Where a redirect points, a relative Location read against the URL that sent it."""
    try:
        return str(httpx.URL(target.url).join(location))
    except httpx.InvalidURL as exc:
        raise UpstreamError(f"{target.url} redirects to an invalid URL {location!r}") from exc
