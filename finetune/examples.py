"""What a run learns from: its inputs (chunks, rated answers) and the `Example` it trains on.

An example's `prompt` is a list of chat messages, exactly what the answer service sends to
vLLM (`core.llm.prompts.answer_messages`); training and evaluation render it with the
base model's own chat template, as vLLM does when it serves the adapter. A causal-LM example
has no messages: its completion is plain text.
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel, Field

from core.llm.prompts import PromptSource, answer_messages, document_label

Kind = Literal["raft", "feedback", "causal"]
Message = dict[str, str]


class SourceChunk(BaseModel):
    """One chunk of a new or changed document, as collected from the knowledge base."""

    kb: str
    document_id: str
    title: str
    source: str
    page: int
    text: str

    @property
    def id(self) -> str:
        """Stable id: where the chunk lives plus a digest of its text."""
        digest = hashlib.sha256(self.text.encode()).hexdigest()[:16]
        return f"{self.kb}/{self.document_id}/p{self.page}/{digest}"

    def as_prompt_source(self) -> PromptSource:
        """The chunk as the answer service's prompt introduces a passage."""
        return PromptSource(document_label(self.title or self.source, self.page), self.text)


class RatedAnswer(BaseModel):
    """An answer a user rated through the feedback endpoint.

    `citations[i]` is the passage the answer cites as `[i+1]`, as the answer service returns
    them (only cited passages, renumbered from 1), with where it comes from, so the rebuilt
    prompt shows the same `[n] title, page p:` headers serving shows.
    """

    question: str
    answer: str
    citations: list[SourceChunk] = Field(default_factory=list)
    rating: int
    comment: str = ""


class Example(BaseModel):
    """One training or evaluation example; `sha256` identifies its normalised content."""

    kind: Kind
    prompt: list[Message] = Field(description="Chat messages; empty for causal-LM text.")
    completion: str
    source_ids: list[str] = Field(
        default_factory=list, description="Chunks it was made from (held-out split key)."
    )
    sha256: str

    @classmethod
    def create(
        cls, kind: Kind, prompt: Sequence[Message], completion: str, source_ids: Sequence[str] = ()
    ) -> Example:
        """An example with its content hash filled in."""
        messages = [dict(m) for m in prompt]
        return cls(
            kind=kind,
            prompt=messages,
            completion=completion,
            source_ids=list(source_ids),
            sha256=content_hash(kind, messages, completion),
        )

    @property
    def split_key(self) -> str:
        """What decides train or held-out: the source chunks, else the content itself.

        Keying on the source keeps every question about one chunk on the same side, so
        held-out questions are never about text the adapter was trained on.
        """
        return "|".join(sorted(self.source_ids)) or self.sha256


def normalise(text: str) -> str:
    """NFKC with runs of whitespace made one space: formatting noise is not a new example."""
    return " ".join(unicodedata.normalize("NFKC", text).split())


def content_hash(kind: str, prompt: Sequence[Message], completion: str) -> str:
    """sha256 of the normalised kind, messages and completion."""
    body = {
        "kind": kind,
        "prompt": [[m["role"], normalise(m["content"])] for m in prompt],
        "completion": normalise(completion),
    }
    return hashlib.sha256(json.dumps(body, ensure_ascii=False).encode()).hexdigest()


def passages_prompt(question: str, passages: Sequence[SourceChunk]) -> list[Message]:
    """The answer service's messages for `question` over `passages` numbered from 1."""
    return answer_messages(question, [], [p.as_prompt_source() for p in passages])
