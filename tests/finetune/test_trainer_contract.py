"""The Trainer contract (finetune/train.py), run by every implementation."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from safetensors.torch import load_file

from core.errors import InvalidRequest
from finetune.examples import Example
from finetune.train import Trainer, check_servable
from tests.finetune.conftest import trainer

MakeTrainer = Callable[..., Trainer]


def weights(folder: Path) -> dict:
    return load_file(str(folder / "adapter_model.safetensors"))


class TrainerContract:
    """Mix-in suite: a subclass provides a `make_trainer(**training)` fixture."""

    def test_writes_a_servable_adapter(self, make_trainer: MakeTrainer, train_set, tmp_path):
        result = make_trainer(max_steps=3).train(train_set, tmp_path / "out")
        check_servable(tmp_path / "out")
        assert len(result.step_losses) == 3
        assert result.examples + result.skipped == len(train_set)
        assert result.tokens > 0

    def test_same_seed_same_run(self, make_trainer: MakeTrainer, train_set, tmp_path):
        first = make_trainer(max_steps=4, seed=7).train(train_set, tmp_path / "a")
        second = make_trainer(max_steps=4, seed=7).train(train_set, tmp_path / "b")
        other = make_trainer(max_steps=4, seed=8).train(train_set, tmp_path / "c")
        assert first.step_losses == second.step_losses
        assert first.step_losses != other.step_losses
        a, b = weights(tmp_path / "a"), weights(tmp_path / "b")
        assert a.keys() == b.keys()
        assert all(a[key].equal(b[key]) for key in a)

    def test_warm_start_continues_from_the_parent(
        self, make_trainer: MakeTrainer, train_set, tmp_path
    ):
        cold = make_trainer(max_steps=15).train(train_set, tmp_path / "parent")
        warm = make_trainer(max_steps=3).train(
            train_set, tmp_path / "child", parent=tmp_path / "parent"
        )
        # It starts where the parent ended, well below a fresh adapter's first loss.
        assert warm.step_losses[0] < cold.step_losses[0] - 0.5
        check_servable(tmp_path / "child")
        parent, child = weights(tmp_path / "parent"), weights(tmp_path / "child")
        assert parent.keys() == child.keys()
        assert any(not parent[key].equal(child[key]) for key in parent)

    def test_nothing_trainable_is_refused(self, make_trainer: MakeTrainer, train_set, tmp_path):
        chats = [e for e in train_set if e.kind == "raft"]  # prompts longer than 16 tokens
        with pytest.raises(InvalidRequest, match="max_seq_len"):
            make_trainer(max_seq_len=16).train(chats, tmp_path / "none")
        with pytest.raises(InvalidRequest):
            make_trainer().train(list[Example](), tmp_path / "empty")


class TestLoraTrainer(TrainerContract):
    @pytest.fixture
    def make_trainer(self, tiny_lm) -> MakeTrainer:
        return lambda **training: trainer(tiny_lm, **training)
