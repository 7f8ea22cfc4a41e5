"""Fine-tuning settings: vLLM-servable defaults, validation, environment variables."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ValidationError

from finetune.settings import ALL_PROJECTIONS, FinetuneSettings, LoraSettings


def test_defaults_are_servable_by_a_default_vllm(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    settings = FinetuneSettings(_env_file=None)
    assert settings.base_model is None
    assert settings.adapters_dir == tmp_path / "kb" / "finetune"
    assert settings.lora.rank == 16  # vLLM's default --max-lora-rank
    assert settings.lora.lora_alpha == 32
    assert settings.lora.target_modules == list(ALL_PROJECTIONS)
    assert settings.llm.base_url is None
    assert settings.data.no_gold_fraction == pytest.approx(0.2)


@pytest.mark.parametrize("rank", [1, 8, 16, 32, 64, 128, 256, 320, 512])
def test_vllm_ranks_are_accepted(rank):
    assert LoraSettings(rank=rank).lora_alpha == 2 * rank


@pytest.mark.parametrize("rank", [0, 4, 24, 48, 1024])
def test_other_ranks_are_refused(rank):
    with pytest.raises(ValidationError, match="cannot be served by vLLM"):
        LoraSettings(rank=rank)


def test_a_rank_above_vllms_max_lora_rank_is_refused(monkeypatch):
    monkeypatch.setenv("KB_FINETUNE_LORA__RANK", "32")
    with pytest.raises(ValidationError, match="above vLLM's --max-lora-rank"):
        FinetuneSettings(_env_file=None)
    monkeypatch.setenv("KB_FINETUNE_VLLM__MAX_LORA_RANK", "32")
    assert FinetuneSettings(_env_file=None).lora.rank == 32


def test_explicit_alpha_wins():
    assert LoraSettings(rank=8, alpha=8).lora_alpha == 8


@pytest.mark.parametrize("module", ["embed_tokens", "lm_head"])
def test_embeddings_and_head_are_refused(module):
    with pytest.raises(ValidationError, match="vLLM cannot serve"):
        LoraSettings(target_modules=["q_proj", module])


def test_environment_variables(monkeypatch, tmp_path):
    monkeypatch.setenv("KB_FINETUNE_BASE_MODEL", str(tmp_path / "qwen"))
    monkeypatch.setenv("KB_FINETUNE_LORA__RANK", "32")
    monkeypatch.setenv("KB_FINETUNE_VLLM__MAX_LORA_RANK", "32")
    monkeypatch.setenv("KB_FINETUNE_TRAINING__DEVICE", "cpu")
    monkeypatch.setenv("KB_FINETUNE_GATE__MIN_IMPROVEMENT", "0.05")
    monkeypatch.setenv("KB_FINETUNE_LLM__BASE_URL", "http://vllm:8000/v1")
    settings = FinetuneSettings(_env_file=None)
    assert settings.base_model == tmp_path / "qwen"
    assert settings.lora.rank == 32
    assert settings.training.device == "cpu"
    assert settings.gate.min_improvement == pytest.approx(0.05)
    assert settings.llm.base_url == "http://vllm:8000/v1"


def test_bad_environment_value_is_refused(monkeypatch):
    monkeypatch.setenv("KB_FINETUNE_LORA__RANK", "24")
    with pytest.raises(ValidationError):
        FinetuneSettings(_env_file=None)


def undocumented(model: type[BaseModel], prefix: str = "") -> list[str]:
    missing = []
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            missing += undocumented(annotation, f"{prefix}{name}.")
        if not field.description:
            missing.append(prefix + name)
    return missing


def test_every_field_is_described():
    assert not undocumented(FinetuneSettings)
