"""`Collector`: what is new on the answer service since a cursor, over its HTTP API.

New documents are those ingested (or re-ingested because they changed) after the cursor,
taken oldest first; their chunks are read whole. Rated answers are those with an id above the
cursor's, read page by page. Collection stops taking documents once about `max_chunks` chunks
are in hand, and the cursor it returns points just past the last one taken, so a backlog (the
first run over a whole knowledge base) drains over several runs instead of being cut short.
"""

from __future__ import annotations

import logging
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, Field, ValidationError

from core.errors import UpstreamError, UpstreamTimeout
from finetune.examples import RatedAnswer, SourceChunk
from finetune.manifest import Cursor
from finetune.settings import AnswerServiceSettings
from finetune.wire import ChunkList, DocumentList, DocumentOut, FeedbackList, FeedbackOut, KbList

logger = logging.getLogger(__name__)
PAGE = 500
Body = TypeVar("Body", bound=BaseModel)


class Collected(BaseModel):
    """New chunks and rated answers, and the cursor that marks them consumed."""

    chunks: list[SourceChunk] = Field(default_factory=list)
    rated: list[RatedAnswer] = Field(default_factory=list)
    cursor: Cursor
    documents: int = Field(0, description="Documents whose chunks were taken.")
    documents_left: int = Field(0, description="New documents left for a later run.")
    feedback: int = Field(0, description="Ratings read, usable or not.")
    feedback_web: int = Field(0, description="Left out: they cite web results.")
    feedback_unnumbered: int = Field(0, description="Left out: citations not numbered 1..n.")

    @property
    def empty(self) -> bool:
        """Nothing at all was new (not even unusable ratings)."""
        return not self.documents and not self.feedback

    def counts(self) -> dict[str, int]:
        """The figures, for the run record."""
        figures = self.model_dump(exclude={"chunks", "rated", "cursor"})
        return {"chunks": len(self.chunks), "rated": len(self.rated), **figures}


class Collector:
    """Reads `/v1/knowledge-bases/...` and `/v1/feedback`; failures become UpstreamError."""

    def __init__(self, settings: AnswerServiceSettings, *, page_size: int = PAGE) -> None:
        self._page_size = page_size
        self._url = settings.url.rstrip("/")
        self._http = httpx.Client(
            base_url=self._url, timeout=settings.timeout_s, headers=settings.headers(),
            trust_env=False,
        )  # fmt: skip

    def close(self) -> None:
        self._http.close()

    def collect(self, cursor: Cursor, *, max_chunks: int) -> Collected:
        """Everything new since `cursor`; documents until about `max_chunks` chunks."""
        found = Collected(cursor=cursor.model_copy(deep=True))
        self._documents(cursor, max_chunks, found)
        self._feedback(cursor, found)
        return found

    def _documents(self, cursor: Cursor, max_chunks: int, found: Collected) -> None:
        fresh: list[DocumentOut] = []
        for kb in self._get("/v1/knowledge-bases", KbList).data:
            listed = self._get(f"/v1/knowledge-bases/{kb.name}/documents", DocumentList)
            fresh += [doc for doc in listed.data if _is_new(doc, cursor)]
        fresh.sort(key=lambda doc: (doc.instant, doc.key))
        for taken, doc in enumerate(fresh):
            chunks = self._chunks(doc)
            # The first document is always taken, so one huge document cannot block the queue.
            if taken and len(found.chunks) + len(chunks) > max_chunks:
                found.documents_left = len(fresh) - taken
                break
            found.chunks += chunks
            found.documents += 1
            mark = found.cursor
            seen = mark.documents_seen if doc.instant == mark.documents_after else []
            mark.documents_after, mark.documents_seen = doc.instant, [*seen, doc.key]

    def _chunks(self, doc: DocumentOut) -> list[SourceChunk]:
        path = f"/v1/knowledge-bases/{doc.kb}/documents/{doc.id}/chunks"
        response = self._fetch(path)
        if response.status_code == 404:  # deleted since it was listed: nothing to learn
            logger.info("document %s is gone; skipped", doc.key)
            return []
        listed = self._parse(path, response, ChunkList)
        return [doc.chunk(c.page, c.text) for c in listed.data if c.text.strip()]

    def _feedback(self, cursor: Cursor, found: Collected) -> None:
        after = cursor.feedback_after
        params: dict[str, Any] = {"after": after, "limit": self._page_size}
        while page := self._get("/v1/feedback", FeedbackList, params=params).data:
            for item in page:
                found.feedback += 1
                after = max(after, item.id)
                self._rated(item, found)
            params = {"after": after, "limit": self._page_size}
        found.cursor.feedback_after = after

    @staticmethod
    def _rated(item: FeedbackOut, found: Collected) -> None:
        cited = sorted(item.citations, key=lambda c: c.number)
        if any(c.type != "document" for c in cited):
            # Web passages are framed differently and are no part of the knowledge base.
            found.feedback_web += 1
        elif [c.number for c in cited] != list(range(1, len(cited) + 1)):
            found.feedback_unnumbered += 1
        else:
            rated = RatedAnswer(
                question=item.question, answer=item.answer, rating=item.rating,
                citations=[c.as_chunk() for c in cited], comment=item.comment or "",
            )  # fmt: skip
            found.rated.append(rated)

    def _get(self, path: str, shape: type[Body], *, params: dict[str, Any] | None = None) -> Body:
        return self._parse(path, self._fetch(path, params), shape)

    def _fetch(self, path: str, params: dict[str, Any] | None = None) -> httpx.Response:
        try:
            return self._http.get(path, params=params)
        except httpx.TimeoutException as exc:
            raise UpstreamTimeout(f"{self._where(path)}: no answer in time") from exc
        except httpx.HTTPError as exc:
            raise UpstreamError(f"{self._where(path)}: {type(exc).__name__}: {exc}") from exc

    def _parse(self, path: str, response: httpx.Response, shape: type[Body]) -> Body:
        if not response.is_success:
            raise UpstreamError(
                f"{self._where(path)}: HTTP {response.status_code}: {response.text[:300]}"
            )
        try:
            return shape.model_validate_json(response.content)
        except ValidationError as exc:
            raise UpstreamError(f"{self._where(path)}: unexpected answer: {exc}") from exc

    def _where(self, path: str) -> str:
        return f"answer service at {self._url}{path}"


def _is_new(doc: DocumentOut, cursor: Cursor) -> bool:
    after = cursor.documents_after
    if after is None or doc.instant > after:
        return True
    return doc.instant == after and doc.key not in cursor.documents_seen
