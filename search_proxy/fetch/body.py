"""Reading a response body with a cap on its decoded size, decompressing it ourselves.

httpx would inflate each network chunk in full (up to ~1000x its size) before we could count it,
so the raw stream is read and inflated with `max_length`: memory never exceeds the cap.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import httpx

from core.errors import UpstreamError

ENCODINGS = ("gzip", "x-gzip", "deflate")
# Real HTML inflates about 5-20x; a body that reaches the cap at 200x is a decompression bomb.
MAX_RATIO = 200
# zlib's window bits + 32: accept either a gzip or a zlib header.
_GZIP_OR_ZLIB = 15 + 32


@dataclass(frozen=True)
class Body:
    """A body's first `max_bytes` decoded bytes, and whether there was more."""

    data: bytes
    truncated: bool


async def read_capped(response: httpx.Response, max_bytes: int, url: str) -> Body:
    """Read at most `max_bytes` decoded bytes; a longer body is cut there.

    Raises:
        UpstreamError: an unknown Content-Encoding, a corrupt compressed stream, or a
            compressed body that reaches the cap at more than MAX_RATIO times its size.
    """
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    if encoding not in (*ENCODINGS, "identity", ""):
        raise UpstreamError(f"{url}: unsupported Content-Encoding {encoding!r}")
    inflater = None if encoding in ("identity", "") else zlib.decompressobj(_GZIP_OR_ZLIB)
    data = bytearray()
    consumed = 0
    async for raw in response.aiter_raw():
        room = max_bytes - len(data) + 1  # one byte more tells us the body goes on
        if inflater is None:
            data += raw[:room]
            consumed += len(raw)
        else:
            try:
                data += inflater.decompress(raw, room)
            except zlib.error as exc:
                raise UpstreamError(f"{url}: corrupt {encoding} body ({exc})") from exc
            consumed += len(raw) - len(inflater.unconsumed_tail)
        if len(data) > max_bytes or consumed > max_bytes:
            if inflater is not None and len(data) > MAX_RATIO * consumed:
                raise UpstreamError(
                    f"{url}: refused a decompression bomb ({consumed:,} compressed bytes "
                    f"already inflate past the {max_bytes:,}-byte cap)"
                )
            return Body(_cut_utf8(bytes(data[:max_bytes])), truncated=True)
    return Body(bytes(data), truncated=False)


def _cut_utf8(data: bytes) -> bytes:
    """Drop a UTF-8 sequence the cap cut in half, so the text does not fall back to cp1252."""
    for back in range(1, min(4, len(data)) + 1):
        byte = data[-back]
        if byte < 0x80:
            return data
        if byte >= 0xC0:
            needed = 2 if byte < 0xE0 else 3 if byte < 0xF0 else 4
            return data if back >= needed else data[:-back]
    return data
