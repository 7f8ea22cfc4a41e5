"""A small stand-in for the Apache Tika 3.x server, answering as its REST API documents.

GET /version, GET /tika, and PUT /rmeta/xml: a JSON array whose object 0 holds the document's
metadata and its XHTML in `X-TIKA:content`, one `<div class="page">` per PDF page, and whose
further objects are the files embedded in it, depth first, each with its own metadata,
`X-TIKA:embedded_resource_path` and content (Tika's RecursiveParserWrapper; the container's
XHTML keeps only a `<div class="embedded" id=...>` marker where each one was). PDFs are read
with pypdfium2 directly (never with the project's parsers), .txt as one paragraph, .rtf by a
crude control-word stripper, .eml with the standard library (its attachments become embedded
objects); other binaries get 415. Like /rmeta, parse failures come back as
200 with `X-TIKA:EXCEPTION:container_exception`. Words in the file name steer failures:
"crash-once" drops the connection mid-answer the first time (a forked parser child dying),
"always-503" answers 503 every time, "slow" answers only after `slow_s` seconds, and
"status-NNN" answers that status with a Java stack trace as the body (what /tika sends with
returnStackTrace on; "encrypted" in the name makes it an EncryptedDocumentException).
"""

from __future__ import annotations

import asyncio
import contextlib
import email
import re
import threading
from collections import Counter
from email import policy
from email.message import EmailMessage
from html import escape
from typing import Any
from urllib.parse import unquote

import pypdfium2 as pdfium  # type: ignore[import-untyped]
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse

VERSION = "Apache Tika 3.2.3"
_PDF_PARSERS = ["org.apache.tika.parser.DefaultParser", "org.apache.tika.parser.pdf.PDFParser"]
_TRACE_TAIL = "\n\tat org.apache.tika.parser.CompositeParser.parse(CompositeParser.java:298)"
_ENCRYPTED = (
    "org.apache.tika.exception.EncryptedDocumentException: Unable to process: document is "
    "encrypted\n\tat org.apache.tika.parser.pdf.PDFParser.parse(PDFParser.java:196)" + _TRACE_TAIL
)
# RTF destinations whose text is not document text (fonts, colours, styles, pictures ...).
_RTF_SKIP = re.compile(
    r"\\(\*|fonttbl|colortbl|stylesheet|info|pict|header|footer|listtable|listoverridetable"
    r"|rsidtbl|themedata|colorschememapping|latentstyles|datastore|generator|xmlnstbl)"
)
# PDFium is not thread-safe and uvicorn may answer several requests at once.
_PDFIUM_LOCK = threading.Lock()
_RTF_CHARACTERS = {"par": "\n\n", "line": "\n", "tab": "\t"}
_RTF_TOKEN = re.compile(r"\\'([0-9a-fA-F]{2})|\\([a-zA-Z]+)(-?\d+)? ?|\\(.)|([{}])|([^\\{}\r\n]+)")


class _CrashOnce:
    """ASGI wrapper: the first request for a "crash-once" name loses its connection."""

    def __init__(self, app: Any, drops: Counter[str]) -> None:
        self.app = app
        self.drops = drops

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        headers = dict(scope.get("headers", []))
        name = _filename(headers.get(b"content-disposition", b"").decode("latin-1"))
        if "crash-once" not in name or self.drops[name]:
            await self.app(scope, receive, send)
            return
        self.drops[name] += 1
        # Headers go out, then the answer stops: uvicorn closes the connection, as the
        # kernel does when Tika's watchdog kills the child that was answering.
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"[", "more_body": True})


def create_tika_standin(*, slow_s: float = 10.0) -> FastAPI:
    """The stand-in app; `app.state.hits` counts answered PUTs per file name, `drops` the rest."""
    app = FastAPI()
    app.state.hits = Counter()
    app.state.drops = Counter()
    app.add_middleware(_CrashOnce, drops=app.state.drops)

    @app.get("/version", response_class=PlainTextResponse)
    async def version() -> str:
        return VERSION

    @app.get("/tika", response_class=PlainTextResponse)
    async def greeting() -> str:
        return f"This is Tika Server ({VERSION}). Please PUT"

    @app.put("/rmeta/xml")
    @app.put("/rmeta")
    async def rmeta(request: Request) -> Response:
        name = _filename(request.headers.get("content-disposition", ""))
        app.state.hits[name] += 1
        if "always-503" in name:
            return PlainTextResponse("Service Unavailable", status_code=503)
        if status := re.search(r"status-(\d{3})", name):
            return PlainTextResponse(_trace(name), status_code=int(status.group(1)))
        data = await request.body()
        if "slow" in name:
            await _wait_or_disconnect(request, slow_s)
        kind = _detect(name, data)
        if kind is None:
            return Response(status_code=415)
        if kind == "eml":
            return JSONResponse(await asyncio.to_thread(_eml, name, data))
        return JSONResponse([await asyncio.to_thread(_PARSE[kind], name, data)])

    return app


def _trace(name: str) -> str:
    if "encrypted" in name:
        return _ENCRYPTED
    return "org.apache.tika.exception.TikaException: Unexpected RuntimeException" + _TRACE_TAIL


def _filename(disposition: str) -> str:
    # RFC 6266: filename* (RFC 5987, UTF-8) wins over the plain ASCII fallback.
    extended = re.search(r"filename\*\s*=\s*UTF-8''([^;\s]+)", disposition, re.IGNORECASE)
    if extended:
        return unquote(extended.group(1))
    plain = re.search(r'filename\s*=\s*"((?:[^"\\]|\\.)*)"', disposition)
    return re.sub(r"\\(.)", r"\1", plain.group(1)) if plain else ""


async def _wait_or_disconnect(request: Request, seconds: float) -> None:
    async def disconnected() -> None:
        # The body is read already, so the next ASGI message is the client going away.
        while (await request.receive())["type"] != "http.disconnect":
            pass

    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(disconnected(), seconds)


def _detect(name: str, data: bytes) -> str | None:
    lower = name.lower()
    if not data:
        return "empty"
    if data.startswith(b"%PDF") or lower.endswith(".pdf"):
        return "pdf"
    if data.startswith(b"{\\rtf") or lower.endswith(".rtf"):
        return "rtf"
    if lower.endswith(".eml"):
        return "eml"
    if lower.endswith(".txt") or (b"\x00" not in data and _is_utf8(data)):
        return "text"
    return None


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _xhtml(title: str, body: str) -> str:
    return (
        '<html xmlns="http://www.w3.org/1999/xhtml">\n<head>\n'
        f'<meta name="X-TIKA:Parsed-By" content="org.apache.tika.parser.DefaultParser"/>\n'
        f"<title>{escape(title)}</title>\n</head>\n<body>{body}</body></html>"
    )


def _paragraphs(text: str) -> str:
    parts = [part for part in re.split(r"\n\s*\n", text) if part.strip()]
    return "".join(f"<p>{escape(part)}</p>\n" for part in parts)


def _empty(name: str, data: bytes) -> dict[str, Any]:
    trace = "org.apache.tika.exception.ZeroByteFileException: InputStream must have > 0 bytes"
    return {
        "Content-Type": "application/octet-stream",
        "X-TIKA:EXCEPTION:container_exception": trace + _TRACE_TAIL,
        "X-TIKA:content": _xhtml("", ""),
    }


def _text(name: str, data: bytes) -> dict[str, Any]:
    return {
        "Content-Type": "text/plain; charset=UTF-8",
        "X-TIKA:Parsed-By": ["org.apache.tika.parser.DefaultParser", "TXTParser"],
        "X-TIKA:content": _xhtml("", _paragraphs(data.decode("utf-8", errors="replace"))),
    }


def _rtf(name: str, data: bytes) -> dict[str, Any]:
    text = _rtf_text(data.decode("latin-1"))
    return {
        "Content-Type": "application/rtf",
        "X-TIKA:Parsed-By": ["org.apache.tika.parser.DefaultParser", "RTFParser"],
        "X-TIKA:content": _xhtml("", _paragraphs(text)),
    }


def _rtf_text(source: str) -> str:
    out: list[str] = []
    depth, skip_from, fallback = 0, None, False
    for hex_code, word, arg, symbol, brace, plain in _RTF_TOKEN.findall(source):
        if brace:
            depth += 1 if brace == "{" else -1
            if skip_from is not None and depth < skip_from:
                skip_from = None
        elif skip_from is None and ((word and _RTF_SKIP.fullmatch("\\" + word)) or symbol == "*"):
            skip_from = depth
        elif skip_from is None:
            text = _rtf_piece(hex_code, word, arg, symbol, plain)
            # \uN is followed by one fallback character for old readers: drop it.
            out.append(text[1:] if fallback and (hex_code or plain) else text)
            fallback = word == "u"
    return "".join(out)


def _rtf_piece(hex_code: str, word: str, arg: str, symbol: str, plain: str) -> str:
    if word == "u" and arg:
        return chr(int(arg) % 65536)
    if hex_code:
        return bytes([int(hex_code, 16)]).decode("cp1252", errors="replace")
    if symbol in ("\\", "{", "}"):
        return symbol
    return _RTF_CHARACTERS.get(word, plain)


def _pdf(name: str, data: bytes) -> dict[str, Any]:
    with _PDFIUM_LOCK:
        return _pdf_unlocked(data)


def _pdf_unlocked(data: bytes) -> dict[str, Any]:
    base = {"Content-Type": "application/pdf", "X-TIKA:Parsed-By": _PDF_PARSERS}
    try:
        pdf = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        if exc.err_code == pdfium.raw.FPDF_ERR_PASSWORD:
            failure = {
                "X-TIKA:encrypted": "true",
                "X-TIKA:EXCEPTION:container_exception": _ENCRYPTED,
            }
        else:
            trace = f"org.apache.tika.exception.TikaException: Unable to extract PDF content: {exc}"
            failure = {"X-TIKA:EXCEPTION:container_exception": trace + _TRACE_TAIL}
        return base | failure | {"X-TIKA:content": _xhtml("", "")}
    try:
        texts = [_pdf_page_text(pdf, index) for index in range(len(pdf))]
        info = pdf.get_metadata_dict(skip_empty=True)
    finally:
        pdf.close()
    pages = "".join(f'<div class="page">{_paragraphs(text) or "<p/>"}</div>\n' for text in texts)
    meta = {"xmpTPg:NPages": str(len(texts)), "pdf:PDFVersion": "1.4"}
    if info.get("Title"):
        meta["dc:title"] = info["Title"]
    if info.get("Author"):
        meta["dc:creator"] = info["Author"]
    return base | meta | {"X-TIKA:content": _xhtml(info.get("Title", ""), pages)}


def _pdf_page_text(pdf: Any, index: int) -> str:
    page = pdf[index]
    textpage = page.get_textpage()
    try:
        return str(textpage.get_text_bounded()).replace("\r\n", "\n")
    finally:
        textpage.close()
        page.close()


def _eml(name: str, data: bytes) -> list[dict[str, Any]]:
    """The message, then one object per attachment, as /rmeta lists embedded documents."""
    message = email.message_from_bytes(data, policy=policy.default)
    assert isinstance(message, EmailMessage)
    body = message.get_body(preferencelist=("plain",))
    text = str(body.get_content()) if isinstance(body, EmailMessage) else ""
    subject = str(message.get("subject", ""))
    markers, embedded = "", []
    for part in message.iter_attachments():
        filename = part.get_filename() or "attachment"
        markers += f'<div class="embedded" id="{escape(filename)}"/>'
        payload = part.get_payload(decode=True)
        payload = payload if isinstance(payload, bytes) else b""
        kind = _detect(filename, payload)
        inner: dict[str, Any] = (
            _PARSE[kind](filename, payload)
            if kind in _PARSE
            else {"Content-Type": "application/octet-stream", "X-TIKA:content": _xhtml("", "")}
        )
        embedded.append(
            inner
            | {
                "resourceName": filename,
                "X-TIKA:embedded_resource_path": f"/{filename}",
                "X-TIKA:embedded_depth": "1",
                "embeddedResourceType": "ATTACHMENT",
            }
        )
    container = {
        "Content-Type": "message/rfc822",
        "X-TIKA:Parsed-By": ["org.apache.tika.parser.DefaultParser", "RFC822Parser"],
        "dc:title": subject,
        "dc:creator": str(message.get("from", "")),
        "X-TIKA:content": _xhtml(subject, _paragraphs(text) + markers),
    }
    return [container, *embedded]


_PARSE = {"empty": _empty, "text": _text, "rtf": _rtf, "pdf": _pdf}
