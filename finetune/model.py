"""The base model and its tokenizer, loaded from a local folder onto the chosen device.

Nothing is ever downloaded (`local_files_only=True`): air-gapped sites point `base_model` at
the same folder vLLM serves. On a GPU the weights load in bfloat16 when the card supports it
(LoRA weights stay float32, peft's default); on the CPU everything is float32.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal, cast

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, PreTrainedModel, set_seed

from core.errors import ConfigurationError

logger = logging.getLogger(__name__)


def pick_device(choice: Literal["auto", "cpu", "cuda"]) -> torch.device:
    """CUDA when allowed and present; asking for CUDA without one is a configuration error."""
    if choice == "cuda" and not torch.cuda.is_available():
        raise ConfigurationError("training.device is 'cuda' but torch sees no CUDA device")
    if choice != "cpu" and torch.cuda.is_available():
        return torch.device("cuda")
    return torch.device("cpu")


def dtype_for(device: torch.device) -> torch.dtype:
    """bfloat16 on a GPU that supports it, else float32."""
    if device.type == "cuda" and torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return torch.float32


def seed_everything(seed: int) -> None:
    """Seeds Python's random, numpy and torch (all devices)."""
    set_seed(seed)


def load_base(path: Path, device: torch.device) -> tuple[PreTrainedModel, Any]:
    """(model, tokenizer) from the local folder `path`; ConfigurationError when unreadable."""
    if not (path / "config.json").is_file():
        raise ConfigurationError(f"base_model {path} is not a model folder (no config.json)")
    try:
        tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        model = AutoModelForCausalLM.from_pretrained(
            path, local_files_only=True, dtype=dtype_for(device)
        )
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"cannot load the base model from {path}: {exc}") from exc
    if tokenizer.pad_token_id is None and tokenizer.eos_token_id is None:
        raise ConfigurationError(f"the tokenizer in {path} has neither a pad nor an eos token")
    # PreTrainedModel.to's wrapped signature confuses mypy; it is nn.Module.to.
    cast(Any, model).to(device)
    model.config.use_cache = False
    return model, tokenizer


def pad_id(tokenizer: Any) -> int:
    """The padding id: the pad token, else eos (padding never reaches the loss)."""
    value = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    return int(value)


@contextmanager
def quiet_peft_deprecations() -> Iterator[None]:
    """Hide one FutureWarning peft triggers inside transformers 5 (`is_gradient_checkpointing`).

    Nothing we can act on: peft reads a deprecated transformers property while wrapping.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*")
        yield
