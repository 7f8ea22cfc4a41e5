"""What the LLM is asked: a grounded, cited answer, and a standalone rewrite of follow-ups.

The system prompt comes first and never changes, and passages follow in retrieval order, so
that a vLLM server's prefix cache can reuse the common start of prompts.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

NOT_IN_KB = "The knowledge base does not say."

ANSWER_SYSTEM = f"""You answer questions using only the numbered passages that come with \
each question: from the user's knowledge base and, when marked "web", from web search results.
- Base every statement on the passages; do not use outside knowledge.
- After each statement, cite the passage(s) that support it with their numbers in square \
brackets, like [1] or [2][3]. Cite only numbers that appear in the passages.
- If the passages do not contain the answer, reply exactly: "{NOT_IN_KB}" and nothing else.
- Answer in the language of the question, concisely."""

REWRITE_SYSTEM = """You rewrite the last question of a conversation into one standalone search \
query that can be understood without the conversation: resolve pronouns and references to \
earlier turns, keep names, numbers and terms. Reply with the query only, no quotes, no \
explanation."""

Message = dict[str, str]
_OLD_MARKERS = re.compile(r"[ \t]*\[\d+\]")


class Turn(Protocol):
    """An earlier message of the conversation: who said it and its text."""

    @property
    def role(self) -> str: ...

    @property
    def text(self) -> str: ...


@dataclass(frozen=True)
class PromptSource:
    """One numbered source of a prompt: how it is introduced, and the text the model may use."""

    label: str
    text: str


def document_label(title: str, page: int) -> str:
    """How a passage of the knowledge base is introduced: `title, page p`."""
    return f"{title}, page {page}"


def web_label(title: str, url: str) -> str:
    """How a web result is introduced: `title (web: url)`."""
    return f"{title} (web: {url})"


def passage_block(sources: Sequence[PromptSource]) -> str:
    """The sources numbered from 1: `[n] title, page p:` or `[n] title (web: url):`, then text."""
    return "\n\n".join(
        f"[{number}] {source.label}:\n{source.text}"
        for number, source in enumerate(sources, start=1)
    )


def answer_messages(
    question: str, history: Sequence[Turn], sources: Sequence[PromptSource]
) -> list[Message]:
    """System instructions, earlier turns, then the passages and the question."""
    user = f"Passages:\n\n{passage_block(sources)}\n\nQuestion: {question}"
    return [
        {"role": "system", "content": ANSWER_SYSTEM},
        *_turns(history),
        {"role": "user", "content": user},
    ]


def rewrite_messages(history: Sequence[Turn], question: str) -> list[Message]:
    """Ask for the follow-up `question` as a standalone query, given the earlier turns."""
    transcript = "\n".join(f"{m.role}: {m.text}" for m in history if m.text)
    user = f"Conversation:\n{transcript}\n\nLast question: {question}\n\nStandalone query:"
    return [{"role": "system", "content": REWRITE_SYSTEM}, {"role": "user", "content": user}]


def _turns(history: Sequence[Turn]) -> list[Message]:
    """Earlier user and assistant turns; old markers go, they numbered other passages."""
    return [
        {"role": m.role, "content": _OLD_MARKERS.sub("", m.text)}
        for m in history
        if m.role in ("user", "assistant") and m.text
    ]
