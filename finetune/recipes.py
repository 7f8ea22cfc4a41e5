"""Examples that need no LLM: well-rated real answers, and causal-LM text of new chunks.

Inputs must already be PII-masked (`finetune.dataset.build_dataset` does it).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from finetune.examples import Example, RatedAnswer, SourceChunk, passages_prompt

_MARKER = re.compile(r"\[(\d+)\]")


def feedback_examples(
    answers: Sequence[RatedAnswer], min_rating: int
) -> tuple[list[Example], int, int]:
    """(examples, answers rated too low, answers citing passages they do not carry).

    The prompt is the question over the cited passages numbered as the answer cites them,
    and the completion is the answer as the user saw and rated it.
    """
    examples: list[Example] = []
    low = broken = 0
    for rated in answers:
        if rated.rating < min_rating:
            low += 1
            continue
        cited = {int(n) for n in _MARKER.findall(rated.answer)}
        if not rated.answer.strip() or any(n < 1 or n > len(rated.citations) for n in cited):
            broken += 1
            continue
        prompt = passages_prompt(rated.question, rated.citations)
        sources = [c.id for c in rated.citations]
        examples.append(Example.create("feedback", prompt, rated.answer.strip(), sources))
    return examples, low, broken


def causal_examples(chunks: Sequence[SourceChunk]) -> list[Example]:
    """One plain-text example per chunk: next-token prediction on the chunk's text."""
    return [Example.create("causal", [], c.text, [c.id]) for c in chunks if c.text.strip()]
