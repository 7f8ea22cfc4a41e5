"""A fetched body to clean text, with the ingest service's own HTML reader."""

from __future__ import annotations

import codecs

from core.errors import DocumentError, UpstreamError
from core.markup.decode import decode_html, decode_text
from core.markup.xhtml import parse_xhtml

HTML_TYPES = ("text/html", "application/xhtml+xml")
TEXT_TYPES = ("text/plain",)


def page_text(
    data: bytes, media_type: str, charset: str | None, url: str
) -> tuple[str | None, str]:
    """The page's title (HTML only) and visible text: no script, style or markup.

    Args:
        data: the body, decoded from its Content-Encoding.
        media_type: one of HTML_TYPES or TEXT_TYPES.
        charset: the Content-Type's charset, which wins over the page's own <meta> (as in
            browsers); None or an unknown name falls back to <meta>, then UTF-8, then cp1252.
        url: names the page in errors.

    Raises:
        UpstreamError: the body is binary data, not text.
    """
    try:
        text = _decode(data, media_type, charset, url)
    except DocumentError as exc:
        raise UpstreamError(exc.message) from exc
    if media_type in TEXT_TYPES:
        return None, text.strip()
    content = parse_xhtml(text)
    return content.title, "\n\n".join(page.text for page in content.pages if page.text)


def _decode(data: bytes, media_type: str, charset: str | None, url: str) -> str:
    if charset:
        try:
            codecs.lookup(charset)
        except LookupError:
            charset = None
    if charset:
        return data.decode(charset, errors="replace").replace("\r\n", "\n")
    return decode_text(data, url) if media_type in TEXT_TYPES else decode_html(data, url)
