"""`ChatService`: knowledge bases from the model name, query, retrieval, answer, citations."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

from core.errors import InvalidRequest, NotFound, UpstreamError
from core.llm.client import LLMClient
from core.llm.prompts import NOT_IN_KB, Message, answer_messages, rewrite_messages
from core.privacy import PiiMasker, PrivacySettings
from core.store import Visibility
from retrieval.protocol import Hit, Retriever
from search_proxy.protocol import SearchRequest, SearchResult, WebSearch
from serving.chat.cache import AnswerCache, CachedAnswer
from serving.chat.citations import CitationRewriter
from serving.chat.extractive import ExtractiveAnswerer, render
from serving.chat.protocol import (
    ChatCompletionRequest,
    ChatMessage,
    Citation,
    ModelCard,
    ModelList,
)
from serving.chat.sources import Source, prompt_sources, source_text
from serving.chat.support import SupportChecker, review
from serving.settings import ChatSettings, WebSettings

logger = logging.getLogger(__name__)

MODEL_PREFIX = "kb/"
WEB_SUFFIX = "+web"
REWRITE_MAX_TOKENS = 96
NO_LLM = "extractive: no LLM configured"


@dataclass
class Turn:
    """One request, resolved and retrieved, ready to be answered."""

    request: ChatCompletionRequest
    kbs: list[str]
    question: str
    query: str
    history: list[ChatMessage]
    web: bool = False
    hits: list[Hit] = field(default_factory=list)
    web_results: list[SearchResult] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    llm_failure: str | None = None
    cache_key: str | None = None
    cited: list[Citation] = field(default_factory=list)
    # Called with the final answer text once it is complete (the conversation it goes to).
    keep: Callable[[str], None] | None = None

    @property
    def sources(self) -> list[Source]:
        """What the answer may cite, numbered from 1: passages, then web results."""
        return [*self.hits, *self.web_results]


class ChatService:
    """Answers chat-completion requests from the knowledge bases their model names."""

    def __init__(
        self,
        *,
        retriever: Retriever,
        extractive: ExtractiveAnswerer,
        visibility: Callable[[], Visibility],
        settings: ChatSettings,
        llm: LLMClient | None = None,
        web: WebSearch | None = None,
        web_settings: WebSettings | None = None,
        cache: AnswerCache | None = None,
        privacy: PrivacySettings | None = None,
        support: SupportChecker | None = None,
    ) -> None:
        self._retriever, self._extractive, self._llm = retriever, extractive, llm
        self._privacy = privacy or PrivacySettings()
        self._visibility, self._settings = visibility, settings
        self._web, self._web_settings = web, web_settings or WebSettings()
        self.cache = cache
        self._support = support

    @property
    def llm_model(self) -> str | None:
        """The model or adapter the LLM is asked for now; None without an LLM."""
        return self._llm.model if self._llm is not None else None

    def _known(self) -> frozenset[str]:
        return self._visibility().names

    async def aclose(self) -> None:
        """Close the LLM client's and the cache's connections."""
        if self._llm is not None:
            await self._llm.aclose()
        if self.cache is not None:
            await self.cache.close()

    def cache_key(self, request: ChatCompletionRequest) -> str | None:
        """Where the answer to `request` is cached; None when it must not be."""
        if self.cache is None or not request.cache:
            return None
        kbs, web = self.resolve(request.model)
        if web or request.web_search:
            return None  # the web changes under the same question
        model = self._llm.model if self._llm is not None else "extractive"
        return self.cache.key(request, kbs, self._visibility().versions, model)

    def models(self) -> ModelList:
        """Every knowledge base as a model `kb/<name>`, and `kb/<name>+web` with web search."""
        now = int(time.time())
        suffixes = ["", WEB_SUFFIX] if self._web is not None else [""]
        ids = [f"{MODEL_PREFIX}{n}{s}" for n in sorted(self._known()) for s in suffixes]
        return ModelList(data=[ModelCard(id=model, created=now) for model in ids])

    def resolve(self, model: str) -> tuple[list[str], bool]:
        """`kb/a+b+web` → (['a', 'b'], True); NotFound for an unknown knowledge base.

        A last `+web` asks for web search too; `kb/web` alone is a knowledge base named web.
        """
        web = model.endswith(WEB_SUFFIX) and model != f"{MODEL_PREFIX}{WEB_SUFFIX[1:]}"
        model = model.removesuffix(WEB_SUFFIX) if web else model
        names = (
            model.removeprefix(MODEL_PREFIX).split("+") if model.startswith(MODEL_PREFIX) else []
        )
        if not names or not all(names):
            raise NotFound(f"unknown model {model!r}: use kb/<knowledge base>, see GET /v1/models")
        if unknown := [n for n in names if n not in self._known()]:
            raise NotFound(f"unknown knowledge base(s): {', '.join(unknown)}", param="model")
        return list(dict.fromkeys(names)), web

    async def prepare(self, request: ChatCompletionRequest) -> Turn:
        """Check the request, rewrite a follow-up question, retrieve passages (and search)."""
        question = self._check(request.messages)
        kbs, web = self.resolve(request.model)
        turn = Turn(request, kbs, question, question, request.messages[:-1])
        turn.web = web or request.web_search
        if self._llm is not None and sum(m.role == "user" for m in request.messages) > 1:
            await self._rewrite(turn, self._llm)
        retrieval = self._retriever.retrieve(turn.query, turn.kbs, top_k=self._settings.passages)
        if turn.web:  # both at once: the web search is the slower of the two
            turn.hits, turn.web_results = await asyncio.gather(retrieval, self._search(turn))
        else:
            turn.hits = await retrieval
        return turn

    async def _search(self, turn: Turn) -> list[SearchResult]:
        """Web results for the turn; a failure becomes a warning, the answer goes on."""
        if self._web is None:
            turn.warnings.append("web search is not configured (KB_WEB__URL or KB_SEARCH_*)")
            return []
        request = SearchRequest(
            query=turn.query[:1000],
            max_results=self._web_settings.max_results,
            timeout_s=self._web_settings.timeout_s,
            fetch_pages=self._web_settings.fetch_pages,
        )
        try:
            response = await self._web.search(request)
        except UpstreamError as exc:
            logger.warning("web search failed: %s", exc.message)
            turn.warnings.append(
                f"web search unavailable, answered from the knowledge base: {exc.message}"
            )
            return []
        if response.blocked:
            turn.warnings.append(
                "web search skipped: the question has terms that must not leave the organisation"
            )
        elif not response.results and response.failed:
            failed = "; ".join(f.message for f in response.failed)
            turn.warnings.append(f"web search found nothing: {failed}")
        return response.results

    def _check(self, messages: list[ChatMessage]) -> str:
        limit, total = self._settings.max_message_chars, self._settings.max_total_chars
        if not messages:
            raise InvalidRequest(
                "messages is empty: send at least one user message", param="messages"
            )
        if messages[-1].role != "user" or not messages[-1].text.strip():
            raise InvalidRequest(
                "the last message must be a non-empty user message", param="messages"
            )
        if any(len(m.text) > limit for m in messages):
            raise InvalidRequest(f"a message is over {limit} characters", param="messages")
        if sum(len(m.text) for m in messages) > total:
            raise InvalidRequest(f"the conversation is over {total} characters", param="messages")
        return messages[-1].text.strip()

    async def _rewrite(self, turn: Turn, llm: LLMClient) -> None:
        messages = self._masked(turn, rewrite_messages(turn.history, turn.question))
        try:
            rewritten = await llm.complete(messages, max_tokens=REWRITE_MAX_TOKENS, temperature=0)
        except UpstreamError as exc:
            logger.warning("rewriting the follow-up question failed: %s", exc.message)
            turn.llm_failure = exc.message
            return
        turn.query = " ".join(rewritten.split()).strip("\"'") or turn.question

    async def pieces(self, turn: Turn, *, stream: bool) -> AsyncIterator[str]:
        """The raw answer, markers numbering `turn.sources`; adds to `turn.warnings`."""
        if not turn.sources:
            yield NOT_IN_KB
            return
        if self._llm is not None and turn.llm_failure is None:
            started = False
            try:
                async for piece in self._generate(turn, self._llm, stream=stream):
                    started = True
                    yield piece
                return
            except UpstreamError as exc:
                logger.warning("the LLM failed, answering extractively: %s", exc.message)
                if started:
                    turn.warnings.append(f"incomplete: the LLM failed mid-answer: {exc.message}")
                    return
                turn.llm_failure = exc.message
        yield await self._extract(turn)

    async def _generate(self, turn: Turn, llm: LLMClient, *, stream: bool) -> AsyncIterator[str]:
        r = turn.request
        keep = self._settings.history_messages
        history = turn.history[-keep:] if keep else []
        prompt = answer_messages(turn.question, history, prompt_sources(turn.sources))
        messages = self._masked(turn, prompt)
        max_tokens = r.max_completion_tokens or r.max_tokens
        if not stream:
            yield await llm.complete(messages, max_tokens=max_tokens, temperature=r.temperature)
            return
        async for piece in llm.stream(messages, max_tokens=max_tokens, temperature=r.temperature):
            yield piece

    def _masked(self, turn: Turn, messages: list[Message]) -> list[Message]:
        """The prompt with personal data masked, where a knowledge base of the turn asks."""
        if not self._privacy.masks_prompts(turn.kbs):
            return messages
        masker = PiiMasker()
        return [{**m, "content": masker.mask(m["content"])} for m in messages]

    async def _extract(self, turn: Turn) -> str:
        failed = f"extractive: the LLM failed: {turn.llm_failure}"
        turn.warnings.append(NO_LLM if self._llm is None else failed)
        texts = [source_text(s, with_context=False) for s in turn.sources]
        extracts = await self._extractive.extracts(turn.query, texts)
        return render(extracts) if extracts else NOT_IN_KB

    async def remember(self, turn: Turn, content: str, citations: list[Citation]) -> None:
        """Cache a finished answer, unless it drew on the web or fell back after a failure."""
        turn.cited = citations  # what the audit record lists as cited
        if turn.keep is not None:
            turn.keep(content)
        if self.cache is None or turn.cache_key is None or turn.web:
            return
        if turn.llm_failure is not None or any(w != NO_LLM for w in turn.warnings):
            return
        answer = CachedAnswer(content=content, citations=citations, warnings=turn.warnings)
        await self.cache.put(turn.cache_key, answer)

    async def check(self, turn: Turn, text: str, rewriter: CitationRewriter) -> list[Citation]:
        """The citations, each checked against the claims that cite it; warns of the unbacked."""
        if self._support is None:
            return rewriter.citations
        citations, warnings = await asyncio.to_thread(
            review, self._support, text, rewriter.citations, rewriter.cited_texts()
        )
        turn.warnings.extend(warnings)
        return citations

    def rewriter(self, turn: Turn) -> CitationRewriter:
        """Renumbers this turn's markers into citations."""
        return CitationRewriter(turn.sources)
