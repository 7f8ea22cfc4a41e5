"""Examples as token ids with labels: loss on the completion only, as vLLM will render them.

A chat example is rendered with the base model's own chat template: the prompt with the
generation prompt appended (what vLLM feeds the model for a chat request), then the rest of
the full conversation (the answer plus the template's end-of-turn tokens) as the completion.
Prompt tokens get label -100 so they add nothing to the loss. A causal-LM example is its text
between the tokenizer's bos (if any) and eos, every token learned.
"""

from __future__ import annotations

from typing import Any

from core.errors import ConfigurationError
from finetune.examples import Example
from finetune.loop import IGNORE, Encoded

__all__ = ["IGNORE", "Encoded", "encode"]


def _ids(tokenizer: Any, text: str) -> list[int]:
    return list(tokenizer(text, add_special_tokens=False)["input_ids"])


def _chat_parts(example: Example, tokenizer: Any) -> tuple[str, str]:
    if not getattr(tokenizer, "chat_template", None):
        raise ConfigurationError(
            "the base model's tokenizer has no chat template, so vLLM could not serve chat "
            "with it either; use an instruct model or train causal-LM examples only"
        )
    prompt = tokenizer.apply_chat_template(
        example.prompt, tokenize=False, add_generation_prompt=True
    )
    answer = {"role": "assistant", "content": example.completion}
    full = tokenizer.apply_chat_template([*example.prompt, answer], tokenize=False)
    if full.startswith(prompt):
        return prompt, full[len(prompt) :]
    # Templates that rewrite earlier turns (e.g. strip reasoning) break the prefix property.
    return prompt, example.completion + (tokenizer.eos_token or "")


def encode(example: Example, tokenizer: Any, max_seq_len: int) -> Encoded | None:
    """The example's ids and labels, cut to `max_seq_len`; None when no completion fits."""
    if example.prompt:
        prompt_text, completion_text = _chat_parts(example, tokenizer)
        prompt, completion = _ids(tokenizer, prompt_text), _ids(tokenizer, completion_text)
    else:
        bos = [] if tokenizer.bos_token_id is None else [int(tokenizer.bos_token_id)]
        eos = [] if tokenizer.eos_token_id is None else [int(tokenizer.eos_token_id)]
        prompt, completion = bos, _ids(tokenizer, example.completion) + eos
    ids = (prompt + completion)[:max_seq_len]
    labels = ([IGNORE] * len(prompt) + completion)[:max_seq_len]
    encoded = Encoded(ids, labels)
    return encoded if encoded.learned > 0 else None
