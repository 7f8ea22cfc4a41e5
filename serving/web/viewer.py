"""The document viewer's endpoints: a PDF page as an image, a cited span's boxes, a passage."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response

from core.auth.dependency import CallerDep, authenticate, require_kb
from core.auth.principal import Level, Principal
from core.errors import NotFound
from core.store.base import Where
from ingest.parsers.pdf import PdfiumParser
from ingest.registry import DocumentRecord
from ingest.routes import RuntimeDep
from ingest.runtime import IngestRuntime
from serving.web.passage import in_context, page_text
from serving.web.pdfpage import render_png, span_boxes
from serving.web.protocol import Box, Highlight, Passage

router = APIRouter(
    prefix="/v1/knowledge-bases/{kb}/documents/{doc_id}",
    tags=["document viewer"],
    dependencies=[Depends(authenticate)],
)

PageQuery = Annotated[int, Query(ge=1, description="The page, from 1.")]
StartQuery = Annotated[int, Query(ge=0, description="The span's start in the page's text.")]
EndQuery = Annotated[int, Query(ge=1, description="The span's end in the page's text.")]


@router.get(
    "/pages/{page}/image",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}, "description": "The page as a PNG."}},
)
async def page_image(
    kb: str,
    doc_id: str,
    page: int,
    rt: RuntimeDep,
    request: Request,
    caller: CallerDep,
    scale: Annotated[float | None, Query(gt=0, le=4, description="x 72 dpi.")] = None,
) -> Response:
    """A page of a PDF, rendered from the original file of the document's live version."""
    record = _readable(rt, caller, kb, doc_id)
    scale = scale or request.app.state.viewer_scale
    # The live version and the scale name the image: a replaced document gets a new one.
    etag = f'"{record.generation}-{page}-{scale}"'
    headers = {"ETag": etag, "Cache-Control": "private, no-cache"}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    png, _ = await asyncio.to_thread(render_png, _pdf(rt, record), page, scale)
    return Response(png, media_type="image/png", headers=headers)


@router.get("/pages/{page}/highlight")
async def highlight(
    kb: str,
    doc_id: str,
    page: int,
    rt: RuntimeDep,
    caller: CallerDep,
    char_start: StartQuery,
    char_end: EndQuery,
) -> Highlight:
    """The boxes of characters [char_start, char_end) of a PDF page's text (a citation's span)."""
    record = _readable(rt, caller, kb, doc_id)
    path = _pdf(rt, record)
    found = None
    if record.parser == PdfiumParser.name:  # the span is one of PDFium's text
        found = await asyncio.to_thread(span_boxes, path, page, char_start, char_end, None)
    if found is None or not found.boxes:  # read another way (OCR, Tika): find the passage
        chunk = _chunk_at(await _page_chunks(rt, record, page), char_start, char_end)
        passage = str(chunk["text"]) if chunk is not None else ""
        found = await asyncio.to_thread(span_boxes, path, page, char_start, char_end, passage)
    return Highlight(
        page=page, pages=found.pages, width=found.width, height=found.height,
        boxes=[Box(**box.__dict__) for box in found.boxes],
    )  # fmt: skip


@router.get("/passage")
async def passage(
    kb: str,
    doc_id: str,
    rt: RuntimeDep,
    caller: CallerDep,
    page: PageQuery,
    char_start: StartQuery,
    char_end: EndQuery,
) -> Passage:
    """Characters [char_start, char_end) of a page's text with the text around them."""
    record = _readable(rt, caller, kb, doc_id)
    text = page_text(await _page_chunks(rt, record, page))
    found = in_context(text, char_start, char_end)
    return Passage(page=page, pages=record.pages, **found.__dict__)


def _readable(rt: IngestRuntime, caller: Principal, kb: str, doc_id: str) -> DocumentRecord:
    """The document, if the caller may read its knowledge base (else the same 404 as missing)."""
    require_kb(caller, kb, Level.READ)
    return rt.registry.get_document(kb, doc_id)


def _pdf(rt: IngestRuntime, record: DocumentRecord) -> Path:
    path = rt.originals.path(record.generation, record.source)
    if path.suffix != ".pdf":
        raise NotFound(f"{record.source} is not a PDF: ask for its passage instead")
    if not path.exists():
        raise NotFound(f"the original file of {record.source} is not kept")
    return path


async def _page_chunks(
    rt: IngestRuntime, record: DocumentRecord, page: int
) -> list[dict[str, Any]]:
    where = Where(kbs=(record.kb,), doc_id=record.id, generation=record.generation)
    stored = await rt.store.scroll(where)
    return [c.payload for c in stored if c.payload["page"] == page]


def _chunk_at(chunks: list[dict[str, Any]], start: int, end: int) -> dict[str, Any] | None:
    return next((c for c in chunks if (c["char_start"], c["char_end"]) == (start, end)), None)
