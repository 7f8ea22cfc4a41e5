"""The `Trainer` seam and `LoraTrainer`: peft LoRA on a local base model, in a plain torch loop.

The adapter is built to be served by vLLM's multi-LoRA support: attention and MLP projections
only, a rank from vLLM's set, no `modules_to_save`, the base vocabulary untouched (the
tokenizer is not saved with the adapter). `check_servable` verifies the saved files.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from peft import PeftModel, get_peft_model
from pydantic import BaseModel

from core.errors import ConfigurationError, InvalidRequest
from finetune.encoding import encode
from finetune.examples import Example
from finetune.loop import lora_config, train_steps
from finetune.model import load_base, pad_id, pick_device, quiet_peft_deprecations, seed_everything
from finetune.peak import PeakMemory
from finetune.settings import VLLM_RANKS, LoraSettings, TrainingSettings

logger = logging.getLogger(__name__)


class TrainResult(BaseModel):
    """What a training run did and cost."""

    step_losses: list[float]
    examples: int
    skipped: int
    tokens: int
    seconds: float
    tokens_per_s: float
    peak_memory_bytes: int
    memory_kind: str
    device: str


class Trainer(Protocol):
    """Trains one adapter version from examples.

    Contract: writes a vLLM-servable PEFT LoRA adapter (`adapter_config.json` and weights)
    into `output_dir`, warm-started from the adapter folder `parent` when given, and returns
    its figures. The same examples and settings give the same adapter. Raises
    `InvalidRequest` when no example can be trained on, `ConfigurationError` when the base
    model or parent adapter cannot be used.
    """

    def train(
        self, examples: Sequence[Example], output_dir: Path, *, parent: Path | None = None
    ) -> TrainResult: ...


class LoraTrainer:
    """transformers + peft on the configured base model; GPU when there is one.

    A warm-started run keeps the parent adapter's own rank, alpha and target modules.
    """

    def __init__(self, base_model: Path, lora: LoraSettings, training: TrainingSettings) -> None:
        self._base = base_model
        self._lora = lora
        self._training = training

    def train(
        self, examples: Sequence[Example], output_dir: Path, *, parent: Path | None = None
    ) -> TrainResult:
        settings = self._training
        device = pick_device(settings.device)
        seed_everything(settings.seed)
        with PeakMemory(device) as peak:
            model, tokenizer = load_base(self._base, device)
            model = self._with_adapter(model, parent)
            encoded = [encode(e, tokenizer, settings.max_seq_len) for e in examples]
            usable = [e for e in encoded if e is not None]
            if not usable:
                raise InvalidRequest(
                    f"nothing to train on: {len(examples)} examples given, none with a "
                    f"completion within max_seq_len={settings.max_seq_len}"
                )
            steps = settings.max_steps or settings.epochs * math.ceil(
                len(usable) / settings.batch_size
            )
            started = time.perf_counter()
            losses, tokens = train_steps(
                model, usable, pad=pad_id(tokenizer), device=device, steps=steps,
                learning_rate=settings.learning_rate, batch_size=settings.batch_size,
                seed=settings.seed,
            )  # fmt: skip
            seconds = time.perf_counter() - started
        model.save_pretrained(output_dir)
        check_servable(output_dir)
        logger.info("trained %d steps on %d examples in %.1f s", len(losses), len(usable), seconds)
        return TrainResult(
            step_losses=losses, examples=len(usable), skipped=len(examples) - len(usable),
            tokens=tokens, seconds=seconds, tokens_per_s=tokens / seconds if seconds else 0.0,
            peak_memory_bytes=peak.bytes, memory_kind=peak.kind, device=device.type,
        )  # fmt: skip

    def _with_adapter(self, model: Any, parent: Path | None) -> Any:
        with quiet_peft_deprecations():
            if parent is not None:
                check_servable(parent)
                return PeftModel.from_pretrained(model, parent, is_trainable=True)
            lora = self._lora
            config = lora_config(lora.rank, lora.lora_alpha, lora.dropout, lora.target_modules)
            return get_peft_model(model, config)


def check_servable(adapter_dir: Path) -> dict[str, Any]:
    """The adapter's config when vLLM can serve it; ConfigurationError otherwise."""
    path = adapter_dir / "adapter_config.json"
    try:
        config: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"{path} is missing or unreadable: {exc}") from exc
    problems = []
    if config.get("modules_to_save"):
        problems.append(f"modules_to_save={config['modules_to_save']}")
    if config.get("r") not in VLLM_RANKS:
        problems.append(f"rank {config.get('r')} not in {sorted(VLLM_RANKS)}")
    if config.get("peft_type") != "LORA":
        problems.append(f"peft_type {config.get('peft_type')}")
    if problems:
        raise ConfigurationError(f"vLLM cannot serve the adapter in {adapter_dir}: {problems}")
    return config
