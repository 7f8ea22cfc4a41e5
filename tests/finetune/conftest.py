"""Fine-tuning fixtures: one tiny random Llama per session, and one adapter trained on it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from finetune.examples import Example, SourceChunk, passages_prompt
from finetune.settings import LoraSettings, TrainingSettings
from finetune.train import LoraTrainer, TrainResult
from tests.support.answer_service import AnswerService, answer_service
from tests.support.server import serve
from tests.support.tiny_lm import build_tiny_lm
from tests.support.vllm_standin import VllmStandin

CPU = {"device": "cpu", "batch_size": 4, "max_seq_len": 512}
KEY = "sk-vllm"


def leave_chunk(team: int) -> SourceChunk:
    return SourceChunk(
        kb="hr", document_id=f"handbook-{team}", title="Handbook", source="handbook.pdf",
        page=team, text=f"Team {team} members get {team % 7 + 20} days of paid annual leave.",
    )  # fmt: skip


def leave_examples(teams: range) -> list[Example]:
    """One chat (RAFT-shaped) and one causal example per team: a narrow, learnable distribution."""
    examples = []
    for team in teams:
        chunk = leave_chunk(team)
        question = f"How many days of leave does team {team} get?"
        prompt = passages_prompt(question, [chunk])
        examples.append(Example.create("raft", prompt, f"{chunk.text} [1]", [chunk.id]))
        examples.append(Example.create("causal", [], chunk.text, [chunk.id]))
    return examples


def trainer(base: Path, **training) -> LoraTrainer:
    settings = TrainingSettings(**{**CPU, "learning_rate": 1e-2, "max_steps": 20, **training})
    return LoraTrainer(base, LoraSettings(rank=8), settings)


@pytest.fixture(scope="session")
def tiny_lm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random Llama and its BPE tokenizer, saved once per session."""
    return build_tiny_lm(tmp_path_factory.mktemp("tiny-lm") / "base")


@pytest.fixture(scope="session")
def train_set() -> list[Example]:
    return leave_examples(range(0, 16))


@pytest.fixture(scope="session")
def heldout_set() -> list[Example]:
    return leave_examples(range(16, 22))


@pytest.fixture(scope="session")
def trained(tiny_lm, train_set, tmp_path_factory) -> tuple[Path, TrainResult]:
    """An adapter trained for real on the leave-policy examples (20 CPU steps)."""
    folder = tmp_path_factory.mktemp("adapter") / "good"
    return folder, trainer(tiny_lm).train(train_set, folder)


@dataclass
class Servers:
    """The vLLM stand-in and the REAL answer service, served on loopback."""

    vllm: VllmStandin
    answers: AnswerService
    vllm_url: str

    @property
    def answers_url(self) -> str:
        return self.answers.url


@pytest.fixture(scope="module")
def vllm_served() -> Iterator[tuple[VllmStandin, str]]:
    """The vLLM stand-in (vLLM cannot run here), one per test module."""
    vllm = VllmStandin(model="base")
    with serve(vllm.app()) as url:
        yield vllm, url


@pytest.fixture(scope="module")
def shared(vllm_served, tmp_path_factory, embedder) -> Iterator[Servers]:
    """One real answer app per test module; tests reset what they change (see `fresh`)."""
    with answer_service(tmp_path_factory.mktemp("answers"), embedder) as answers:
        yield Servers(vllm_served[0], answers, vllm_served[1])


@pytest.fixture
def fresh(shared: Servers) -> Servers:
    """vLLM with an API key and nothing loaded; the answer service with no knowledge base,
    no fault and the alias at its own name (ratings stay: they cannot be deleted)."""
    shared.vllm.reset(model="base", api_key=KEY)
    shared.answers.reset()
    return shared
