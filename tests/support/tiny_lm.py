"""A tiny causal LM with random weights and a tokenizer trained on the fly, saved to a folder.

The model is a real `LlamaForCausalLM` (hidden 64, 2 layers, 4 heads), so LoRA targets the
same q/k/v/o/gate/up/down projection names vLLM serves. The tokenizer is a byte-level BPE
trained by `tokenizers` on a small corpus (the answer prompt included, so prompts stay short)
and carries a ChatML-like chat template, so chat examples render as with a real instruct model.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

from core.llm.prompts import ANSWER_SYSTEM, NOT_IN_KB

# Llama's usual 0.02 leaves a 64-wide random model's logits near uniform after the final norm,
# so a few LoRA steps barely move the loss; 0.2 gives them a useful range.
INIT_STD = 0.2
SPECIALS = ["<unk>", "<pad>", "<|end|>", "<|system|>", "<|user|>", "<|assistant|>"]
CHAT_TEMPLATE = (
    "{% for m in messages %}<|{{ m['role'] }}|>\n{{ m['content'] }}<|end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
)
CORPUS = [
    ANSWER_SYSTEM,
    NOT_IN_KB,
    "Passages:\n\n[1] Handbook, page 2:\nQuestion: How many days of leave? [1] [2] [3] [4]",
    "Employees get 25 days of paid annual leave. The office opens at nine in the morning.",
    "Expense reports are due within 30 days. The travel policy covers trains and flights.",
    "The quarterly report explains revenue, costs and the plan for the next quarter.",
    "0123456789 +-*/=.,;:!?()[]{}<>'\" the of and to in is that for on with as by at",
    "员工每年有二十五天带薪年假。报销单须在三十天内提交。",
]


def train_tokenizer(corpus: Sequence[str], vocab_size: int) -> PreTrainedTokenizerFast:
    """Byte-level BPE (any text encodes, nothing is unknown) with pad and eos tokens."""
    bpe = Tokenizer(models.BPE(unk_token="<unk>"))
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=SPECIALS, show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )  # fmt: skip
    bpe.train_from_iterator(list(corpus) * 4, trainer)
    tokenizer = PreTrainedTokenizerFast(  # type: ignore[no-untyped-call]  # untyped in 5.x
        tokenizer_object=bpe, unk_token="<unk>", pad_token="<pad>", eos_token="<|end|>"
    )
    tokenizer.chat_template = CHAT_TEMPLATE
    return tokenizer


def build_tiny_lm(
    folder: Path, corpus: Sequence[str] = (), *, seed: int = 0, vocab_size: int = 600
) -> Path:
    """Save a seeded random tiny Llama and its tokenizer into `folder`; returns `folder`."""
    tokenizer = train_tokenizer([*CORPUS, *corpus], vocab_size)
    config = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=4, max_position_embeddings=2048,
        bos_token_id=None, eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id, tie_word_embeddings=False,
        initializer_range=INIT_STD,
    )  # fmt: skip
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config)
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder
