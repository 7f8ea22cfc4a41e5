"""The optimisation loop itself, on token ids: torch and peft only.

Kept free of the service's other dependencies so that `bench/finetune.py` times exactly this
code on a bare GPU machine that has torch, transformers and peft and nothing else.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from peft import LoraConfig

IGNORE = -100


@dataclass(frozen=True)
class Encoded:
    """Token ids of one example and their labels (IGNORE where no loss is taken)."""

    input_ids: list[int]
    labels: list[int]

    @property
    def learned(self) -> int:
        """Tokens that count in the loss (the first token is never predicted)."""
        return sum(label != IGNORE for label in self.labels[1:])


def lora_config(rank: int, alpha: int, dropout: float, targets: Sequence[str]) -> LoraConfig:
    """A causal-LM LoRA that vLLM can serve: projections only, nothing saved beside it."""
    return LoraConfig(
        r=rank, lora_alpha=alpha, lora_dropout=dropout, target_modules=list(targets),
        task_type="CAUSAL_LM", modules_to_save=None,
    )  # fmt: skip


def collate(batch: Sequence[Encoded], pad: int, device: torch.device) -> dict[str, torch.Tensor]:
    """Right-padded `input_ids`, `attention_mask` and `labels` tensors on `device`."""
    width = max(len(e.input_ids) for e in batch)
    ids = [e.input_ids + [pad] * (width - len(e.input_ids)) for e in batch]
    mask = [[1] * len(e.input_ids) + [0] * (width - len(e.input_ids)) for e in batch]
    labels = [e.labels + [IGNORE] * (width - len(e.labels)) for e in batch]
    return {
        "input_ids": torch.tensor(ids, device=device),
        "attention_mask": torch.tensor(mask, device=device),
        "labels": torch.tensor(labels, device=device),
    }


def train_steps(
    model: Any,
    examples: Sequence[Encoded],
    *,
    pad: int,
    device: torch.device,
    learning_rate: float,
    batch_size: int,
    steps: int,
    seed: int,
) -> tuple[list[float], int]:
    """AdamW on the trainable parameters; returns each step's loss and the tokens processed.

    Batches are drawn from a fresh seeded shuffle each epoch and never run short, so every
    step sees `batch_size` examples. Gradients are clipped at norm 1.
    """
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=learning_rate)
    order = torch.Generator().manual_seed(seed)
    queue: list[int] = []
    losses: list[float] = []
    tokens = 0
    model.train()
    for _ in range(steps):
        while len(queue) < batch_size:
            queue += torch.randperm(len(examples), generator=order).tolist()
        picked, queue = queue[:batch_size], queue[batch_size:]
        batch = collate([examples[i] for i in picked], pad, device)
        loss = model(**batch).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(trainable, 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        losses.append(float(loss.detach()))
        tokens += int(batch["attention_mask"].sum())
    return losses, tokens
