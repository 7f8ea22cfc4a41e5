"""Bytes of a text or HTML document to str, with a stated fallback order.

Shared by the ingest parsers and the search proxy's page fetcher, which must read pages the
same way documents are read.
"""

from __future__ import annotations

import codecs
import re

from core.errors import CorruptDocument

# Longest BOMs first: the UTF-32-LE BOM starts with the UTF-16-LE one.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([A-Za-z0-9_.:-]+)""", re.IGNORECASE)


def decode_text(data: bytes, filename: str) -> str:
    """A BOM decides; else UTF-8; else cp1252 (Windows' Western default), else latin-1.

    latin-1 maps every byte, so decoding never fails; NUL bytes without a UTF-16/32 BOM mean a
    binary file with a text name, which is refused rather than indexed as garbage.
    """
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                text = data.decode(encoding)
            except UnicodeDecodeError as exc:
                raise CorruptDocument(f"{filename}: invalid {encoding} text ({exc})") from exc
            break
    else:
        if b"\x00" in data:
            raise CorruptDocument(f"{filename}: binary data, not text")
        text = _decode_without_bom(data)
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _decode_without_bom(data: bytes) -> str:
    for encoding in ("utf-8", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


def decode_html(data: bytes, filename: str) -> str:
    """Decode by the page's own <meta charset> when it names one, else like plain text."""
    declared = _META_CHARSET.search(data[:4096])
    if declared and not data.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")):
        try:
            text = data.decode(declared.group(1).decode("ascii"), errors="replace")
            return text.replace("\r\n", "\n")
        except LookupError:
            pass  # an unknown charset name: fall back to the plain-text rules
    return decode_text(data, filename)
