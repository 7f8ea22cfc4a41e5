"""A loopback stand-in for the answer service's API that fine-tuning reads and writes.

It follows the real service's shapes:

- `GET /v1/knowledge-bases` and `GET /v1/knowledge-bases/{kb}/documents` (with `ingested_at`
  in ISO 8601 UTC), `GET /v1/knowledge-bases/{kb}/documents/{id}/chunks`; 404 for unknown ones.
- `GET /v1/feedback?after=&limit=`: ratings with ids above `after`, oldest first, at most
  `limit`, and `last_id` (the highest id given, else `after`).
- `GET /v1/model-alias` and `PUT /v1/model-alias {"model": name | null}`.

`status` makes every endpoint fail with that status; `alias_put_status` only the alias PUT
(after which the alias is unchanged). Every request is recorded as `METHOD path?query`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse


@dataclass
class StandinDocument:
    """A document and its chunks (page, text); `gone` lists it but 404s its chunks."""

    kb: str
    id: str
    source: str
    title: str
    ingested_at: str
    chunks: list[tuple[int, str]]
    gone: bool = False

    def out(self) -> dict[str, Any]:
        return {
            "object": "document", "id": self.id, "kb": self.kb, "source": self.source,
            "title": self.title, "pages": max((p for p, _ in self.chunks), default=0),
            "chunks": len(self.chunks), "status": "ready", "ingested_at": self.ingested_at,
        }  # fmt: skip


@dataclass
class AnswerStandin:
    """State and record of one stand-in answer service; `app()` builds its ASGI app."""

    alias: str = "kb-base"
    target: str | None = None
    status: int = 200
    alias_put_status: int = 200
    documents: list[StandinDocument] = field(default_factory=list)
    feedback: list[dict[str, Any]] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    # When set, every request needs `Authorization: Bearer <api_key>`, as with KB_AUTH__ENABLED.
    api_key: str | None = None

    def add_document(
        self, kb: str, doc_id: str, chunks: list[tuple[int, str]], *, ingested_at: str,
        title: str = "", source: str | None = None,
    ) -> StandinDocument:  # fmt: skip
        """Add (or replace, as a re-ingestion does) a document."""
        self.documents = [d for d in self.documents if (d.kb, d.id) != (kb, doc_id)]
        doc = StandinDocument(kb, doc_id, source or f"{doc_id}.md", title, ingested_at, chunks)
        self.documents.append(doc)
        return doc

    def add_feedback(
        self, question: str, answer: str, rating: int, citations: list[dict[str, Any]]
    ) -> int:
        """Store a rating as `POST /v1/feedback` would; returns its id."""
        number = len(self.feedback) + 1
        self.feedback.append({
            "object": "feedback", "id": number, "created_at": "2026-11-20T10:00:00+00:00",
            "model": self.alias, "question": question, "answer": answer, "rating": rating,
            "comment": "", "citations": citations,
        })  # fmt: skip
        return number

    @property
    def model(self) -> str:
        return self.target or self.alias

    def app(self) -> FastAPI:
        app = FastAPI(title="answer service stand-in")

        @app.middleware("http")
        async def record(request: Request, call_next: Any) -> Any:
            query = f"?{request.url.query}" if request.url.query else ""
            self.requests.append(f"{request.method} {request.url.path}{query}")
            if self.api_key and request.headers.get("authorization") != f"Bearer {self.api_key}":
                return _error("a valid API key is required", 401)
            if self.status != 200:
                return _error("stand-in failure", self.status)
            return await call_next(request)

        @app.get("/v1/knowledge-bases")
        async def kbs() -> dict[str, Any]:
            names = sorted({d.kb for d in self.documents})
            return {
                "object": "list",
                "data": [{"object": "knowledge_base", "name": n} for n in names],
            }

        @app.get("/v1/knowledge-bases/{kb}/documents")
        async def documents(kb: str) -> Any:
            found = [d.out() for d in self.documents if d.kb == kb]
            return {"object": "list", "data": found} if found else _error(f"no kb {kb!r}", 404)

        @app.get("/v1/knowledge-bases/{kb}/documents/{doc_id}/chunks")
        async def chunks(kb: str, doc_id: str) -> Any:
            doc = next((d for d in self.documents if (d.kb, d.id) == (kb, doc_id)), None)
            if doc is None or doc.gone:
                return _error(f"no document {doc_id!r} in {kb!r}", 404)
            data = [
                {"object": "chunk", "index": i, "page": page, "char_start": 0,
                 "char_end": len(text), "heading_path": [], "text": text}
                for i, (page, text) in enumerate(doc.chunks)
            ]  # fmt: skip
            return {"object": "list", "document_id": doc_id, "data": data}

        @app.get("/v1/feedback")
        async def feedback(after: int = 0, limit: int = 500) -> dict[str, Any]:
            data = [f for f in self.feedback if f["id"] > after][:limit]
            return {"object": "list", "data": data, "last_id": data[-1]["id"] if data else after}

        @app.get("/v1/model-alias")
        async def get_alias() -> dict[str, str]:
            return {"alias": self.alias, "model": self.model}

        @app.put("/v1/model-alias")
        async def put_alias(request: Request) -> Any:
            if self.alias_put_status != 200:
                return _error("stand-in failure", self.alias_put_status)
            self.target = (await request.json())["model"]
            return {"alias": self.alias, "model": self.model}

        return app


def _error(message: str, status: int) -> JSONResponse:
    kind = "not_found_error" if status == 404 else "internal_error"
    body = {"error": {"message": message, "type": kind, "param": None, "code": None}}
    return JSONResponse(body, status_code=status)
