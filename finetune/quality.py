"""Answer quality on held-out questions that have a reference answer (RAFT and rated ones).

The model answers each held-out chat example greedily, as vLLM would be asked; the answer is
scored against the example's reference by token F1 (SQuAD's measure, with CJK characters as
tokens) and by whether it cites the same passage numbers. Perplexity says how well a model
predicts the references; these say whether what it writes on its own looks like them.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from typing import Any

import torch
from pydantic import BaseModel

from finetune.examples import Example

_TOKEN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]|[^\W_]+", re.UNICODE)
_MARKER = re.compile(r"\[(\d+)\]")


class AnswerQuality(BaseModel):
    """Mean token F1 and citation agreement over the held-out questions answered."""

    answer_f1: float
    citation_accuracy: float
    answered: int


def token_f1(answer: str, reference: str) -> float:
    """Harmonic mean of token precision and recall (bag of case-folded tokens)."""
    got, want = (
        Counter(_TOKEN.findall(answer.casefold())),
        Counter(_TOKEN.findall(reference.casefold())),
    )
    common = sum((got & want).values())
    if not got or not want or not common:
        return float(not got and not want)
    precision, recall = common / sum(got.values()), common / sum(want.values())
    return 2 * precision * recall / (precision + recall)


def same_citations(answer: str, reference: str) -> bool:
    """Whether the answer cites exactly the passage numbers the reference cites."""
    return set(_MARKER.findall(answer)) == set(_MARKER.findall(reference))


def answer_quality(
    model: Any,
    tokenizer: Any,
    examples: Sequence[Example],
    *,
    device: torch.device,
    max_questions: int,
    max_new_tokens: int,
) -> AnswerQuality | None:
    """Quality of `model`'s greedy answers to the first held-out chat examples; None if none."""
    chats = [e for e in examples if e.prompt][:max_questions]
    if not chats:
        return None
    f1, cited = 0.0, 0
    for example in chats:
        answer = _generate(model, tokenizer, example, device, max_new_tokens)
        f1 += token_f1(answer, example.completion)
        cited += same_citations(answer, example.completion)
    return AnswerQuality(
        answer_f1=f1 / len(chats), citation_accuracy=cited / len(chats), answered=len(chats)
    )


def _generate(
    model: Any, tokenizer: Any, example: Example, device: torch.device, max_new_tokens: int
) -> str:
    prompt = tokenizer.apply_chat_template(
        example.prompt, tokenize=False, add_generation_prompt=True
    )
    ids = tokenizer(prompt, add_special_tokens=False, return_tensors="pt")["input_ids"].to(device)
    with torch.no_grad():
        out = model.generate(
            input_ids=ids,
            attention_mask=torch.ones_like(ids),
            max_new_tokens=max_new_tokens,
            do_sample=False,
            pad_token_id=tokenizer.pad_token_id or tokenizer.eos_token_id,
        )
    return str(tokenizer.decode(out[0, ids.shape[1] :], skip_special_tokens=True)).strip()
