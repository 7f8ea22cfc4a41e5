"""Held-out figures of the base model with or without an adapter, and the promotion gate.

Loss is the mean negative log-likelihood per completion token (prompt tokens excluded), over
all held-out tokens together; perplexity is its exponential. Answer quality (`quality.py`) is
measured when asked for and the held-out set has questions with reference answers. The gate
promotes a candidate only when its perplexity is below the current one's by the relative
margin and its answers' F1 has not dropped by more than the allowed amount. Both sets of
figures must come from the same held-out examples, which `gate` checks.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from peft import PeftModel
from pydantic import BaseModel

from core.errors import InvalidRequest
from finetune.encoding import IGNORE, encode
from finetune.examples import Example
from finetune.loop import collate
from finetune.model import load_base, pad_id, pick_device, quiet_peft_deprecations
from finetune.quality import AnswerQuality, answer_quality
from finetune.settings import TrainingSettings


class EvalMetrics(BaseModel):
    """Held-out figures of one model (base, or base plus an adapter)."""

    loss: float
    perplexity: float
    tokens: int
    examples: int
    skipped: int
    examples_sha256: str
    quality: AnswerQuality | None = None


class GateDecision(BaseModel):
    """Whether the candidate replaces the current model, why, and both sets of figures."""

    promote: bool
    reason: str
    against: str
    margin: float
    candidate: EvalMetrics
    current: EvalMetrics


def examples_digest(examples: Sequence[Example]) -> str:
    """One hash for a set of examples, whatever their order."""
    return hashlib.sha256("".join(sorted(e.sha256 for e in examples)).encode()).hexdigest()


class Evaluator:
    """Loads the base model once, then measures it alone or with any adapter."""

    def __init__(self, base_model: Path, training: TrainingSettings) -> None:
        self._device = pick_device(training.device)
        self._model, self._tokenizer = load_base(base_model, self._device)
        self._training = training
        self._peft: Any = None
        self._loaded: dict[Path, str] = {}

    def metrics(
        self,
        examples: Sequence[Example],
        adapter: Path | None = None,
        *,
        questions: int = 0,
        max_new_tokens: int = 96,
    ) -> EvalMetrics:
        """Held-out metrics of the base model plus `adapter` (None: the base model alone).

        With `questions` > 0, also the quality of answers to that many held-out questions.
        """
        model = self._activate(adapter)
        model.eval()
        encoded = [encode(e, self._tokenizer, self._training.max_seq_len) for e in examples]
        usable = [e for e in encoded if e is not None]
        total, tokens = 0.0, 0
        size = self._training.batch_size
        with torch.no_grad():
            for start in range(0, len(usable), size):
                batch = collate(usable[start : start + size], pad_id(self._tokenizer), self._device)
                logits = model(
                    input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]
                ).logits
                labels = batch["labels"][:, 1:]
                total += float(
                    torch.nn.functional.cross_entropy(
                        logits[:, :-1].float().transpose(1, 2), labels, ignore_index=IGNORE,
                        reduction="sum",
                    )
                )  # fmt: skip
                tokens += int((labels != IGNORE).sum())
        loss = total / tokens if tokens else math.inf
        quality = None
        if questions:
            quality = answer_quality(
                model, self._tokenizer, examples, device=self._device,
                max_questions=questions, max_new_tokens=max_new_tokens,
            )  # fmt: skip
        return EvalMetrics(
            loss=loss, perplexity=math.exp(loss) if loss < 700 else math.inf, tokens=tokens,
            examples=len(usable), skipped=len(examples) - len(usable),
            examples_sha256=examples_digest(examples), quality=quality,
        )  # fmt: skip

    def _activate(self, adapter: Path | None) -> Any:
        if adapter is None:
            if self._peft is None:
                return self._model
            self._peft.base_model.disable_adapter_layers()
            return self._peft
        name = self._loaded.setdefault(adapter.resolve(), f"a{len(self._loaded)}")
        with quiet_peft_deprecations():
            if self._peft is None:
                self._peft = PeftModel.from_pretrained(self._model, adapter, adapter_name=name)
            elif name not in self._peft.peft_config:
                self._peft.load_adapter(adapter, adapter_name=name)
        self._peft.base_model.enable_adapter_layers()
        self._peft.set_adapter(name)
        return self._peft


def evaluate(
    base_model: Path, adapter: Path | None, examples: Sequence[Example], training: TrainingSettings
) -> EvalMetrics:
    """Held-out metrics of one model; see `Evaluator` to compare several on one load."""
    return Evaluator(base_model, training).metrics(examples, adapter)


def gate(
    candidate: EvalMetrics,
    current: EvalMetrics,
    margin: float,
    *,
    against: str = "base",
    max_f1_drop: float = 1.0,
) -> GateDecision:
    """Promote when candidate perplexity < (1 - margin) x current perplexity, and F1 holds.

    When both have answer quality figures, candidate F1 must be >= current F1 - `max_f1_drop`.
    `current` is the adapter in service, or the base model when none is (`against` names
    it). InvalidRequest when the two were measured on different examples.
    """
    if candidate.examples_sha256 != current.examples_sha256:
        raise InvalidRequest("candidate and current metrics come from different held-out sets")
    bar = current.perplexity * (1 - margin)
    figures = f"perplexity {candidate.perplexity:.4g} vs {against} {current.perplexity:.4g}"
    if candidate.tokens == 0:
        promote, reason = False, "no held-out tokens to judge by"
    elif not math.isfinite(candidate.perplexity):
        promote, reason = False, f"candidate perplexity is not finite ({figures})"
    elif candidate.perplexity >= bar:
        promote, reason = False, f"{figures}: not better by {margin:.1%} (needs < {bar:.4g})"
    elif (drop := _f1_drop(candidate, current)) is not None and drop > max_f1_drop:
        promote, reason = False, f"{figures}, but answer F1 fell by {drop:.3f} (> {max_f1_drop})"
    else:
        promote, reason = True, f"{figures}: better by more than {margin:.1%}"
    return GateDecision(
        promote=promote, reason=reason, against=against, margin=margin, candidate=candidate,
        current=current,
    )  # fmt: skip


def _f1_drop(candidate: EvalMetrics, current: EvalMetrics) -> float | None:
    if candidate.quality is None or current.quality is None:
        return None
    return current.quality.answer_f1 - candidate.quality.answer_f1
