"""Real peft LoRA training on the CPU with the tiny random Llama."""

from __future__ import annotations

import json
import statistics

import pytest
import torch
from peft import PeftModel
from transformers import AutoModelForCausalLM, AutoTokenizer

from core.errors import ConfigurationError
from finetune.encoding import IGNORE, encode
from finetune.evaluate import Evaluator
from finetune.examples import Example
from finetune.model import quiet_peft_deprecations
from finetune.settings import ALL_PROJECTIONS, VLLM_RANKS, TrainingSettings
from finetune.train import check_servable
from tests.finetune.conftest import CPU, trainer


def test_training_loss_falls(trained):
    _, result = trained
    losses = result.step_losses
    assert len(losses) == 20
    assert statistics.mean(losses[-5:]) < statistics.mean(losses[:5]) - 1.0
    assert result.examples == 32
    assert result.skipped == 0
    assert result.tokens > 0
    assert result.tokens_per_s > 0
    assert result.device == "cpu"
    assert result.memory_kind.startswith("cpu")


def test_train_set_loss_before_and_after(tiny_lm, trained, train_set):
    folder, _ = trained
    evaluator = Evaluator(tiny_lm, TrainingSettings(**CPU))
    before = evaluator.metrics(train_set)
    after = evaluator.metrics(train_set, folder)
    assert after.loss < before.loss - 1.0


def test_saved_adapter_is_servable_by_vllm(trained):
    folder, _ = trained
    config = json.loads((folder / "adapter_config.json").read_text())
    assert not config.get("modules_to_save")
    assert config["r"] == 8
    assert config["r"] in VLLM_RANKS
    assert config["lora_alpha"] == 16
    assert sorted(config["target_modules"]) == sorted(ALL_PROJECTIONS)
    assert (folder / "adapter_model.safetensors").is_file()
    # The vocabulary is the base's: no tokenizer and no embedding weights travel with it.
    assert not list(folder.glob("tokenizer*"))
    assert check_servable(folder)["r"] == 8


def test_adapter_loads_with_peft_and_changes_the_output(tiny_lm, trained):
    folder, _ = trained
    tokenizer = AutoTokenizer.from_pretrained(tiny_lm, local_files_only=True)
    ids = tokenizer("Team 3 members get", return_tensors="pt")["input_ids"]
    base = AutoModelForCausalLM.from_pretrained(tiny_lm, local_files_only=True)
    base.train(False)
    with torch.no_grad():
        plain = base(ids).logits.clone()
        with quiet_peft_deprecations():
            tuned = PeftModel.from_pretrained(base, folder)
        adapted = tuned(ids).logits
    assert not torch.allclose(plain, adapted, atol=1e-3)


def test_loss_only_on_completion_tokens(tiny_lm, train_set):
    tokenizer = AutoTokenizer.from_pretrained(tiny_lm, local_files_only=True)
    chat = next(e for e in train_set if e.kind == "raft")
    encoded = encode(chat, tokenizer, 512)
    assert encoded is not None
    learned = [
        t for t, label in zip(encoded.input_ids, encoded.labels, strict=True) if label != -100
    ]
    assert tokenizer.decode(learned) == chat.completion + "<|end|>\n"
    assert encoded.labels[0] == IGNORE
    causal = next(e for e in train_set if e.kind == "causal")
    plain = encode(causal, tokenizer, 512)
    assert plain is not None
    assert IGNORE not in plain.labels
    assert plain.input_ids[-1] == tokenizer.eos_token_id


def test_chat_examples_need_a_chat_template(tiny_lm, train_set):
    tokenizer = AutoTokenizer.from_pretrained(tiny_lm, local_files_only=True)
    tokenizer.chat_template = None
    with pytest.raises(ConfigurationError, match="chat template"):
        encode(next(e for e in train_set if e.kind == "raft"), tokenizer, 512)
    assert encode(Example.create("causal", [], "Team 1."), tokenizer, 512) is not None


def test_unservable_adapters_are_refused(tmp_path):
    base = {"peft_type": "LORA", "r": 8, "modules_to_save": None}
    cases = {
        "saves_modules": {**base, "modules_to_save": ["lm_head"]},
        "odd_rank": {**base, "r": 24},
    }
    for name, config in cases.items():
        (tmp_path / name).mkdir()
        (tmp_path / name / "adapter_config.json").write_text(json.dumps(config))
        with pytest.raises(ConfigurationError, match="vLLM cannot serve"):
            check_servable(tmp_path / name)
    with pytest.raises(ConfigurationError, match="missing"):
        check_servable(tmp_path / "absent")


def test_missing_base_model_is_a_configuration_error(tmp_path, train_set):
    with pytest.raises(ConfigurationError, match="not a model folder"):
        trainer(tmp_path / "nowhere").train(train_set, tmp_path / "out")


def test_cuda_asked_without_one_is_a_configuration_error(tiny_lm, train_set, tmp_path):
    if torch.cuda.is_available():
        pytest.skip("a CUDA device is present")
    with pytest.raises(ConfigurationError, match="cuda"):
        trainer(tiny_lm, device="cuda").train(train_set, tmp_path / "out")
