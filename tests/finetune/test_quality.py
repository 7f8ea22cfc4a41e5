"""Answer quality against reference answers: the measures, the gate, and real generation."""

from __future__ import annotations

import pytest

from finetune.evaluate import EvalMetrics, Evaluator, gate
from finetune.quality import AnswerQuality, same_citations, token_f1
from finetune.settings import TrainingSettings
from tests.finetune.conftest import CPU


def test_token_f1():
    assert token_f1("Team 3 gets 23 days [1].", "Team 3 gets 23 days [1].") == 1.0
    assert token_f1("nothing alike", "Team 3 gets 23 days") == 0.0
    assert token_f1("Team 3 gets 20 days", "Team 3 gets 23 days") == pytest.approx(0.8)
    assert token_f1("员工有二十五天年假", "员工每年有二十五天带薪年假") == pytest.approx(
        2 * (9 / 9) * (9 / 13) / (1 + 9 / 13)
    )
    assert token_f1("", "") == 1.0


def test_citations_must_match_as_sets():
    assert same_citations("a [1] b [2]", "b [2][1]")
    assert not same_citations("a [1]", "a [2]")
    assert same_citations("The knowledge base does not say.", "The knowledge base does not say.")


def metrics(perplexity: float, f1: float | None) -> EvalMetrics:
    quality = None if f1 is None else AnswerQuality(answer_f1=f1, citation_accuracy=1, answered=4)
    return EvalMetrics(
        loss=1, perplexity=perplexity, tokens=100, examples=4, skipped=0,
        examples_sha256="same", quality=quality,
    )  # fmt: skip


def test_the_gate_refuses_a_lower_perplexity_when_answers_got_worse():
    fell = gate(metrics(5, 0.30), metrics(10, 0.50), 0.02, max_f1_drop=0.05)
    held = gate(metrics(5, 0.47), metrics(10, 0.50), 0.02, max_f1_drop=0.05)
    unmeasured = gate(metrics(5, None), metrics(10, 0.50), 0.02, max_f1_drop=0.05)
    assert not fell.promote
    assert "answer F1 fell by 0.200" in fell.reason
    assert held.promote
    assert unmeasured.promote


def test_a_trained_adapter_answers_held_out_questions_more_like_the_references(
    tiny_lm, trained, heldout_set
):
    evaluator = Evaluator(tiny_lm, TrainingSettings(**CPU))
    base = evaluator.metrics(heldout_set, None, questions=4, max_new_tokens=24)
    tuned = evaluator.metrics(heldout_set, trained[0], questions=4, max_new_tokens=24)
    assert base.quality is not None
    assert tuned.quality is not None
    assert tuned.quality.answered == base.quality.answered == 4
    assert tuned.quality.answer_f1 > base.quality.answer_f1 + 0.2
