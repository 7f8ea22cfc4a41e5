"""Wire models of the OpenAI chat-completions and models APIs, plus our `citations` extension.

Extensions, which OpenAI clients ignore: a `citations` list and a `warnings` list at the top
level of a `chat.completion`; when streaming, one last `chat.completion.chunk` with empty
`choices` carrying both (shaped like OpenAI's `include_usage` chunk), just before `[DONE]`.
"""

from __future__ import annotations

import time
import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from retrieval.protocol import PassageRef

Role = Literal["system", "developer", "user", "assistant", "tool", "function"]


class ContentPart(BaseModel):
    """One part of a multi-part message; only text parts are read."""

    model_config = ConfigDict(extra="allow")

    type: str
    text: str | None = None


class ChatMessage(BaseModel):
    """One turn of the conversation."""

    model_config = ConfigDict(extra="allow")

    role: Role
    content: str | list[ContentPart] | None = None

    @property
    def text(self) -> str:
        """The message's text, its text parts joined."""
        if isinstance(self.content, list):
            return "\n".join(p.text for p in self.content if p.type == "text" and p.text)
        return self.content or ""


class ChatCompletionRequest(BaseModel):
    """Body of `POST /v1/chat/completions`; unknown OpenAI parameters are accepted and ignored."""

    model_config = ConfigDict(extra="allow")

    model: str = Field(description="`kb/<name>`, or several knowledge bases: `kb/hr+finance`.")
    messages: list[ChatMessage]
    stream: bool = False
    temperature: float | None = Field(None, ge=0, le=2)
    max_tokens: int | None = Field(None, ge=1)
    max_completion_tokens: int | None = Field(None, ge=1)
    web_search: bool = Field(
        False, description="Also search the web (same as a model name ending in `+web`)."
    )
    cache: bool = Field(
        True, description="Answer from the answer cache when the same question was answered "
        "over the same content; false always answers afresh."
    )  # fmt: skip
    conversation_id: str | None = Field(
        None, min_length=1, max_length=128,
        description="Keep the question and the final answer in this conversation of yours "
        "(created on first use; see `/v1/conversations`). Also read from `X-Conversation-ID`.",
    )  # fmt: skip


class DocumentCitation(PassageRef):
    """A passage of a knowledge base that the answer cites as `[number]`."""

    type: Literal["document"] = "document"
    number: int = Field(description="The marker's number in the answer text, from 1.")
    snippet: str = Field(description="The start of the cited passage.")
    score: float = Field(description="The passage's retrieval score.")
    supported: bool | None = Field(
        None, description="Every claim citing it is backed by the passage (null: not checked)."
    )
    support: float | None = Field(
        None, description="The lowest support score (0-1) of the claims citing it."
    )


class WebCitation(BaseModel):
    """A web search result that the answer cites as `[number]`."""

    type: Literal["web"] = "web"
    number: int = Field(description="The marker's number in the answer text, from 1.")
    url: str
    title: str
    snippet: str = Field(description="The start of the result's text used by the answer.")
    score: float = Field(description="The result's merged search score.")
    engines: list[str] = Field(description="The search engines that found it.")
    published: datetime | None = None
    supported: bool | None = Field(
        None, description="Every claim citing it is backed by the result (null: not checked)."
    )
    support: float | None = Field(
        None, description="The lowest support score (0-1) of the claims citing it."
    )


Citation = Annotated[DocumentCitation | WebCitation, Field(discriminator="type")]


class AssistantMessage(BaseModel):
    """The answer."""

    role: Literal["assistant"] = "assistant"
    content: str


class Choice(BaseModel):
    """The one choice we return."""

    index: int = 0
    message: AssistantMessage
    finish_reason: str = "stop"


def completion_id() -> str:
    """A fresh `chatcmpl-…` id."""
    return f"chatcmpl-{uuid.uuid4().hex}"


class ChatCompletion(BaseModel):
    """A whole answer (`stream: false`) with the sources it cites."""

    id: str = Field(default_factory=completion_id)
    object: Literal["chat.completion"] = "chat.completion"
    created: int = Field(default_factory=lambda: int(time.time()))
    model: str
    choices: list[Choice]
    citations: list[Citation] = Field(description="Only cited sources, numbered as in the text.")
    warnings: list[str] = Field(
        default_factory=list, description="E.g. 'extractive: no LLM configured'."
    )
    cached: bool = Field(False, description="Replayed from the answer cache.")


class Delta(BaseModel):
    """A piece of the answer while streaming."""

    role: Literal["assistant"] | None = None
    content: str | None = None


class ChunkChoice(BaseModel):
    """The streamed choice."""

    index: int = 0
    delta: Delta
    finish_reason: str | None = None


class ChatCompletionChunk(BaseModel):
    """One `data:` event of a stream; the last one has no choices and carries `citations`."""

    id: str
    object: Literal["chat.completion.chunk"] = "chat.completion.chunk"
    created: int
    model: str
    choices: list[ChunkChoice]
    citations: list[Citation] | None = None
    warnings: list[str] | None = None
    cached: bool | None = None

    def sse(self) -> str:
        """The chunk as a server-sent event."""
        return f"data: {self.model_dump_json(exclude_none=True)}\n\n"


class ModelCard(BaseModel):
    """A knowledge base presented as a model."""

    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: Literal["kb"] = "kb"


class ModelList(BaseModel):
    """Body of `GET /v1/models`."""

    object: Literal["list"] = "list"
    data: list[ModelCard]
