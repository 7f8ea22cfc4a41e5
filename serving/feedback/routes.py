"""`POST /v1/feedback` (rate an answer) and `GET /v1/feedback` (what the fine-tuning job reads)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, status

from core.auth.dependency import AdminDep, CallerDep, authenticate
from core.auth.scope import restrict
from core.errors import NotFound
from ingest.routes import RuntimeDep
from ingest.runtime import IngestRuntime
from serving.chat.protocol import Citation, DocumentCitation
from serving.feedback.protocol import CitedPassage, FeedbackIn, FeedbackList, FeedbackOut
from serving.feedback.store import FeedbackStore

router = APIRouter(prefix="/v1", tags=["feedback"], dependencies=[Depends(authenticate)])


def _store(request: Request) -> FeedbackStore:
    store: FeedbackStore = request.app.state.feedback
    return store


StoreDep = Annotated[FeedbackStore, Depends(_store)]


@router.post("/feedback", status_code=status.HTTP_201_CREATED)
async def add_feedback(
    body: FeedbackIn, store: StoreDep, rt: RuntimeDep, caller: CallerDep
) -> FeedbackOut:
    """Rate an answer; cited passages are stored whole, as they read now."""
    chunks = _DocumentChunks(rt)
    cited = [await _passage(chunks, citation) for citation in body.citations]
    return store.add(
        model=body.model, question=body.question, answer=body.answer, rating=body.rating,
        comment=body.comment, citations=cited, user=caller.user,
    )  # fmt: skip


@router.get("/feedback")
async def list_feedback(
    store: StoreDep,
    _: AdminDep,
    after: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 500,
) -> FeedbackList:
    """Ratings with ids above `after`, oldest first (admin: this is fine-tuning data)."""
    data = store.after(after, limit)
    return FeedbackList(data=data, last_id=data[-1].id if data else after)


async def _passage(chunks: _DocumentChunks, citation: Citation) -> CitedPassage:
    if not isinstance(citation, DocumentCitation):
        return CitedPassage(
            number=citation.number, type="web", title=citation.title, url=citation.url,
            text=citation.snippet,
        )  # fmt: skip
    return CitedPassage(
        number=citation.number, type="document", title=citation.title, kb=citation.kb,
        document_id=citation.document_id, source=citation.source, page=citation.page,
        text=await chunks.text(citation) or citation.snippet,
    )  # fmt: skip


class _DocumentChunks:
    """Live chunk texts by (page, span), read once per cited document."""

    def __init__(self, rt: IngestRuntime) -> None:
        self._rt = rt
        self._by_doc: dict[tuple[str, str], dict[tuple[int, int, int], str]] = {}

    async def text(self, citation: DocumentCitation) -> str | None:
        """The live chunk the citation points at, if the document still has it."""
        key = (citation.kb, citation.document_id)
        if key not in self._by_doc:
            self._by_doc[key] = await self._read(*key)
        span = (citation.page, citation.char_start, citation.char_end)
        return self._by_doc[key].get(span)

    async def _read(self, kb: str, doc_id: str) -> dict[tuple[int, int, int], str]:
        visible = restrict(self._rt.registry.visibility())
        if kb not in visible.names:  # not yours to read: keep only the client's snippet
            return {}
        try:
            record = self._rt.registry.get_document(kb, doc_id)
        except NotFound:
            return {}
        where = visible.where([kb], doc_id=record.id, generation=record.generation)
        stored = await self._rt.store.scroll(where)
        return {
            (p["page"], p["char_start"], p["char_end"]): str(p["text"])
            for p in (chunk.payload for chunk in stored)
        }
