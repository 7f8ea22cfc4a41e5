"""Held-out perplexity with real adapters, and the promotion gate."""

from __future__ import annotations

import math

import pytest

from core.errors import InvalidRequest
from finetune.evaluate import EvalMetrics, Evaluator, evaluate, examples_digest, gate
from finetune.examples import Example
from finetune.settings import TrainingSettings
from tests.finetune.conftest import CPU, trainer


@pytest.fixture(scope="module")
def evaluator(tiny_lm) -> Evaluator:
    return Evaluator(tiny_lm, TrainingSettings(**CPU))


@pytest.fixture(scope="module")
def worse(tiny_lm, tmp_path_factory):
    """An adapter trained on unrelated text: one syllable over and over."""
    noise = [Example.create("causal", [], "qqqq " * 40) for _ in range(8)]
    folder = tmp_path_factory.mktemp("worse") / "adapter"
    trainer(tiny_lm, max_steps=30).train(noise, folder)
    return folder


def metrics(perplexity: float, tokens: int = 100, digest: str = "same") -> EvalMetrics:
    loss = math.log(perplexity) if math.isfinite(perplexity) else math.inf
    return EvalMetrics(
        loss=loss, perplexity=perplexity, tokens=tokens, examples=5, skipped=0,
        examples_sha256=digest,
    )  # fmt: skip


def test_adapter_trained_on_the_distribution_beats_the_base(evaluator, trained, heldout_set):
    folder, _ = trained
    base = evaluator.metrics(heldout_set)
    candidate = evaluator.metrics(heldout_set, folder)
    decision = gate(candidate, base, 0.02)
    assert decision.promote, decision.reason
    assert decision.against == "base"
    assert candidate.perplexity < base.perplexity * 0.9
    assert candidate.tokens == base.tokens > 0
    assert candidate.examples == len(heldout_set)


def test_worse_adapter_is_rejected_against_base_and_current(evaluator, trained, worse, heldout_set):
    good, _ = trained
    base = evaluator.metrics(heldout_set)
    current = evaluator.metrics(heldout_set, good)
    candidate = evaluator.metrics(heldout_set, worse)
    assert candidate.perplexity > base.perplexity
    against_base = gate(candidate, base, 0.02)
    against_current = gate(candidate, current, 0.02, against="v0001")
    assert not against_base.promote
    assert not against_current.promote
    assert "v0001" in against_current.reason
    assert against_current.candidate == candidate
    assert against_current.current == current


def test_base_alone_after_adapters_were_loaded(evaluator, trained, worse, heldout_set, tiny_lm):
    good, _ = trained
    evaluator.metrics(heldout_set, good)
    evaluator.metrics(heldout_set, worse)
    again = evaluator.metrics(heldout_set, good)
    fresh = evaluate(tiny_lm, None, heldout_set, TrainingSettings(**CPU))
    assert evaluator.metrics(heldout_set).loss == pytest.approx(fresh.loss, rel=1e-5)
    assert again.loss == pytest.approx(
        evaluate(tiny_lm, good, heldout_set, TrainingSettings(**CPU)).loss, rel=1e-5
    )


def test_margin_is_relative():
    assert gate(metrics(97.0), metrics(100.0), 0.02).promote
    assert not gate(metrics(98.5), metrics(100.0), 0.02).promote
    assert not gate(metrics(100.0), metrics(100.0), 0.0).promote
    assert gate(metrics(99.9), metrics(100.0), 0.0).promote


def test_nothing_to_judge_or_diverged_is_rejected():
    assert not gate(metrics(10.0, tokens=0), metrics(100.0), 0.02).promote
    diverged = gate(metrics(math.inf), metrics(math.inf), 0.0)
    assert not diverged.promote
    assert "not finite" in diverged.reason


def test_metrics_from_different_heldout_sets_cannot_be_compared():
    with pytest.raises(InvalidRequest, match="different held-out"):
        gate(metrics(5.0, digest="a"), metrics(9.0, digest="b"), 0.02)


def test_digest_ignores_order(heldout_set):
    assert examples_digest(heldout_set) == examples_digest(list(reversed(heldout_set)))
    assert examples_digest(heldout_set) != examples_digest(heldout_set[1:])
