"""The `Engine` protocol and what every engine shares: one HTTP exchange, text clean-up, dates."""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Protocol

import httpx

from core.errors import RateLimited, UpstreamError, UpstreamTimeout
from search_proxy.protocol import EngineHit
from search_proxy.settings import EngineSettings

_TAG = re.compile(r"<[^>]{0,200}>")
BODY_EXCERPT = 200


class Engine(Protocol):
    """One web search engine.

    Contract: `search` returns at most `count` hits ranked 1..n in the engine's order, with
    plain-text titles and snippets; it raises `RateLimited` on a 429 (with the engine's
    Retry-After when given), `UpstreamTimeout` when the engine is too slow, and `UpstreamError`
    for any other failure, including a response that does not have the documented shape.
    """

    name: str
    settings: EngineSettings

    async def search(
        self, client: httpx.AsyncClient, query: str, count: int
    ) -> list[EngineHit]: ...


async def exchange(engine: str, client: httpx.AsyncClient, request: httpx.Request) -> Any:
    """Send one request and return its JSON body, turning every failure into our errors."""
    try:
        response = await client.send(request)
    except httpx.TimeoutException as exc:
        raise UpstreamTimeout(f"{engine}: no answer in time ({type(exc).__name__})") from exc
    except httpx.HTTPError as exc:
        raise UpstreamError(f"{engine}: {type(exc).__name__}: {exc}") from exc
    if response.status_code == 429:
        raise RateLimited(f"{engine}: rate limited (HTTP 429)", retry_after_s=retry_after(response))
    if response.status_code >= 400:
        excerpt = " ".join(response.text[:BODY_EXCERPT].split())
        raise UpstreamError(f"{engine}: HTTP {response.status_code}: {excerpt}")
    try:
        return response.json()
    except ValueError as exc:
        raise UpstreamError(f"{engine}: the response is not JSON") from exc


def retry_after(response: httpx.Response) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date), if there is one."""
    value = response.headers.get("retry-after", "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        return max(0.0, (parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds())
    except (TypeError, ValueError):
        return None


def items(engine: str, body: Any, *path: str) -> Sequence[Any]:
    """The result list at `path` in a JSON body; a missing path is an empty answer."""
    node = body
    for key in path:
        if node is None:
            return []
        if not isinstance(node, dict):
            raise UpstreamError(f"{engine}: unexpected response shape at {key!r}")
        node = node.get(key)
    if node is None:
        return []
    if not isinstance(node, list):
        raise UpstreamError(f"{engine}: {'.'.join(path)} is not a list")
    return node


def clean(text: Any) -> str:
    """Plain text from a title or snippet: tags (Brave's <strong>) and entities gone."""
    if not isinstance(text, str):
        return ""
    return " ".join(html.unescape(_TAG.sub("", text)).split())


def parse_date(value: Any) -> datetime | None:
    """An ISO 8601 date or datetime, as engines send them; anything else is unknown."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def hits(rows: Sequence[tuple[Any, Any, Any, Any]], count: int) -> list[EngineHit]:
    """EngineHits from (url, title, snippet, published) rows, ranked in order; no-URL rows go."""
    out: list[EngineHit] = []
    for url, title, snippet, published in rows:
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            continue
        out.append(
            EngineHit(
                url=url,
                title=clean(title) or url,
                snippet=clean(snippet),
                rank=len(out) + 1,
                published=parse_date(published),
            )
        )
        if len(out) == count:
            break
    return out


def bearer(settings: EngineSettings) -> dict[str, str]:
    """`Authorization: Bearer <key>` when a key is configured."""
    key = settings.api_key.get_secret_value() if settings.api_key else ""
    return {"Authorization": f"Bearer {key}"} if key else {}
