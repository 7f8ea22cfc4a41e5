"""`POST /v1/chat/completions` (streaming or not) and `GET /v1/models`, as OpenAI serves them."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack, nullcontext
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from core.audit.note import AuditNote, audit_note
from core.auth.dependency import CallerDep, authenticate
from core.auth.limits import Limiter
from core.auth.principal import Principal
from core.errors import RagError, error_body
from core.llm.prompts import NOT_IN_KB
from serving.chat.cache import CachedAnswer, CacheStats
from serving.chat.protocol import (
    AssistantMessage,
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionRequest,
    Choice,
    ChunkChoice,
    Delta,
    DocumentCitation,
    ModelList,
    completion_id,
)
from serving.chat.service import ChatService, Turn
from serving.conversations.store import ConversationStore

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/v1", tags=["answers"], dependencies=[Depends(authenticate)])

SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
_STREAMED: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/event-stream": {}}, "description": "JSON, or SSE when streaming."}
}


def _service(request: Request) -> ChatService:
    service: ChatService = request.app.state.chat
    return service


ServiceDep = Annotated[ChatService, Depends(_service)]


@router.get("/models")
async def list_models(service: ServiceDep) -> ModelList:
    """Every knowledge base you may read as a model `kb/<name>`."""
    return service.models()


@router.post("/chat/completions", response_model=ChatCompletion, responses=_STREAMED)
async def chat_completions(
    body: ChatCompletionRequest, service: ServiceDep, caller: CallerDep, request: Request
) -> Response:
    """A cited answer from the knowledge bases named by `model` (`kb/<name>[+<name>…]`)."""
    note = audit_note(request)
    note.model, note.adapter = body.model, service.llm_model
    keep = keeper(request, body, caller)
    key = service.cache_key(body)
    if key is not None and service.cache is not None:
        hit = await service.cache.get(key)
        if hit is not None:
            note_cached(note, body, hit)
            if keep is not None:
                keep(hit.content)
            return _replay(body, hit)
    async with AsyncExitStack() as stack:
        await stack.enter_async_context(_slot(request, caller))
        turn = await service.prepare(body)
        turn.cache_key, turn.keep = key, keep
        request.state.chat_turn = turn  # the audit recorder reads its retrieved and cited chunks
        if body.stream:  # the slot goes with the stream, released after its last event
            events = _holding(stack.pop_all(), stream_events(service, turn))
            return StreamingResponse(events, media_type="text/event-stream", headers=SSE_HEADERS)
        answer = await completion(service, turn)
    return JSONResponse(answer.model_dump(mode="json"))


def keeper(
    request: Request, body: ChatCompletionRequest, caller: Principal
) -> Callable[[str], None] | None:
    """What keeps the answer in the caller's conversation, if the request names one.

    Ownership is checked now, before answering, so another user's id is a plain 404.
    """
    conversation_id = body.conversation_id or request.headers.get("X-Conversation-ID")
    if not conversation_id:
        return None
    store: ConversationStore = request.app.state.conversations
    store.claim(conversation_id, caller.user)
    question = body.messages[-1].text.strip() if body.messages else ""
    return lambda answer: store.append(conversation_id, caller.user, question, answer)


def _slot(request: Request, caller: Principal) -> AbstractAsyncContextManager[None]:
    """One of the caller's concurrent-answer slots (none to hold without a limiter)."""
    limiter: Limiter | None = getattr(request.app.state, "limiter", None)
    return limiter.answering(caller) if limiter is not None else nullcontext()


async def _holding(held: AsyncExitStack, events: AsyncIterator[str]) -> AsyncIterator[str]:
    async with held:
        async for event in events:
            yield event


@router.get("/cache/stats")
async def cache_stats(service: ServiceDep) -> CacheStats:
    """Answer cache hits and misses (over every replica sharing the cache)."""
    if service.cache is None:
        return CacheStats(backend="off", hits=0, misses=0)
    return await service.cache.stats()


async def completion(service: ChatService, turn: Turn) -> ChatCompletion:
    """The whole answer with its citations."""
    raw = "".join([piece async for piece in service.pieces(turn, stream=False)])
    rewriter = service.rewriter(turn)
    text = rewriter.rewrite(raw).strip() or NOT_IN_KB
    citations = await service.check(turn, text, rewriter)
    await service.remember(turn, text, citations)
    return ChatCompletion(
        model=turn.request.model,
        choices=[Choice(message=AssistantMessage(content=text))],
        citations=citations,
        warnings=turn.warnings,
    )


def note_cached(note: AuditNote, body: ChatCompletionRequest, hit: CachedAnswer) -> None:
    """What the audit record says of an answer served from the cache."""
    note.outcome = "cached"
    note.question = body.messages[-1].text.strip() if body.messages else None
    note.kbs = body.model.removeprefix("kb/").split("+")
    note.cited = [
        f"{c.document_id}#p{c.page}" for c in hit.citations if isinstance(c, DocumentCitation)
    ]


def _replay(body: ChatCompletionRequest, hit: CachedAnswer) -> Response:
    """A cached answer, as JSON or as a stream of one content chunk."""
    if not body.stream:
        answer = ChatCompletion(
            model=body.model, choices=[Choice(message=AssistantMessage(content=hit.content))],
            citations=hit.citations, warnings=hit.warnings, cached=True,
        )  # fmt: skip
        return JSONResponse(answer.model_dump(mode="json"))
    head = ChatCompletionChunk(
        id=completion_id(), created=int(time.time()), model=body.model, choices=[]
    )

    async def events() -> AsyncIterator[str]:
        yield head.model_copy(update={"choices": [_delta(role="assistant", content="")]}).sse()
        yield head.model_copy(update={"choices": [_delta(content=hit.content)]}).sse()
        done = ChunkChoice(delta=Delta(), finish_reason="stop")
        yield head.model_copy(update={"choices": [done]}).sse()
        final = {"citations": hit.citations, "warnings": hit.warnings, "cached": True}
        yield head.model_copy(update=final).sse()
        yield "data: [DONE]\n\n"

    return StreamingResponse(events(), media_type="text/event-stream", headers=SSE_HEADERS)


def _delta(**fields: Any) -> ChunkChoice:
    return ChunkChoice(delta=Delta(**fields))


async def stream_events(service: ChatService, turn: Turn) -> AsyncIterator[str]:
    """Role chunk, content chunks, a finish chunk, the citations chunk, then `[DONE]`."""
    head = ChatCompletionChunk(
        id=completion_id(), created=int(time.time()), model=turn.request.model, choices=[]
    )

    def chunk(**fields: Any) -> str:
        return head.model_copy(update=fields).sse()

    yield chunk(choices=[ChunkChoice(delta=Delta(role="assistant", content=""))])
    rewriter = service.rewriter(turn)
    try:
        async for piece in service.pieces(turn, stream=True):
            if text := rewriter.feed(piece):
                yield chunk(choices=[ChunkChoice(delta=Delta(content=text))])
    except RagError as exc:  # Boundary: headers are sent; report in-stream, as vLLM does.
        logger.error("answer stream failed: %s", exc.message)
        yield f"data: {json.dumps(error_body(exc.message, exc.error_type))}\n\n"
        return
    if rest := rewriter.finish():
        yield chunk(choices=[ChunkChoice(delta=Delta(content=rest))])
    text = rewriter.text.strip() or NOT_IN_KB
    citations = await service.check(turn, text, rewriter)
    await service.remember(turn, text, citations)
    yield chunk(choices=[ChunkChoice(delta=Delta(), finish_reason="stop")])
    yield chunk(citations=citations, warnings=turn.warnings)
    yield "data: [DONE]\n\n"
