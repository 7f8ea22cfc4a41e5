"""Datasets without an LLM: causal LM and feedback, split, replay, dedupe, PII, files."""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from typing import Any

import pytest

from core.errors import NotFound, RagError
from finetune.dataset import Dataset, assemble, build_dataset, is_heldout
from finetune.dataset_io import read_dataset, read_examples, write_dataset
from finetune.examples import Example, RatedAnswer, SourceChunk
from finetune.settings import DataSettings

ID, CARD, PHONE, EMAIL = "11010519491231002X", "4111 1111 1111 1111", "13812345678", "li@corp.cn"


def chunk(index: int, text: str | None = None) -> SourceChunk:
    return SourceChunk(
        kb="kb", document_id=f"doc-{index}", title=f"Doc {index}", source=f"d{index}.pdf",
        page=1, text=text or f"Paragraph {index} says the figure is {index * 7}.",
    )  # fmt: skip


def causal(index: int) -> Example:
    return Example.create("causal", [], f"Older text number {index}.", [f"old/{index}"])


async def build(
    chunks: Sequence[SourceChunk],
    rated: Sequence[RatedAnswer] = (),
    pool: Sequence[Example] = (),
    *,
    seed: int = 0,
    **data: Any,
) -> Dataset:
    settings = DataSettings(**{"heldout_fraction": 0.0, "replay_fraction": 0.0, **data})
    return await build_dataset(chunks, rated, settings, llm=None, seed=seed, replay_pool=pool)


async def test_without_an_llm_chunks_become_causal_examples():
    data = await build([chunk(i) for i in range(3)])
    assert data.report.causal == 3
    assert {e.kind for e in data.train} == {"causal"}
    assert all(e.prompt == [] for e in data.train)
    assert sorted(e.completion for e in data.train) == sorted(chunk(i).text for i in range(3))


async def test_well_rated_answers_become_examples():
    cited = [chunk(1), chunk(2)]
    rated = [
        RatedAnswer(
            question="What figures?", answer="7 [1] and 14 [2].", citations=cited, rating=5
        ),
        RatedAnswer(question="Low?", answer="No [1].", citations=cited, rating=2),
        RatedAnswer(question="Broken?", answer="See [3].", citations=cited, rating=5),
    ]
    data = await build([], rated)
    (example,) = data.train
    assert example.kind == "feedback"
    assert example.completion == "7 [1] and 14 [2]."
    user = example.prompt[-1]["content"]
    assert user.startswith(f"Passages:\n\n[1] Doc 1, page 1:\n{chunk(1).text}\n\n[2] Doc 2")
    assert user.endswith("Question: What figures?")
    assert (data.report.feedback, data.report.feedback_low_rating) == (1, 1)
    assert data.report.feedback_broken == 1


async def test_duplicates_are_dropped():
    twin = chunk(9, "Paragraph 1   says the figure\nis 7.")
    data = await build([chunk(1), twin, chunk(2)], pool=[causal(0)])
    assert data.report.duplicates == 1
    assert len(data.train) == 2
    assert len({e.sha256 for e in data.train}) == 2


async def test_heldout_split_is_stable_across_runs():
    first = await build([chunk(i) for i in range(40)], heldout_fraction=0.3, seed=1)
    held = {e.sha256 for e in first.heldout}
    trained = {e.sha256 for e in first.train}
    assert held
    assert trained
    assert not held & trained
    more = [chunk(i) for i in range(80)]
    random.Random(5).shuffle(more)
    second = await build(more, heldout_fraction=0.3, seed=2)
    assert held <= {e.sha256 for e in second.heldout}
    assert trained <= {e.sha256 for e in second.train}
    for example in second.heldout:
        assert is_heldout(example.split_key, 0.3)


def test_replay_is_a_seeded_share_of_training_and_never_heldout():
    settings = DataSettings(replay_fraction=0.25, heldout_fraction=0.2)
    new = [Example.create("causal", [], f"New text {i}.", [f"new/{i}"]) for i in range(60)]
    pool = [causal(i) for i in range(200)]
    data = assemble(new, pool, settings, seed=4)
    again = assemble(new, list(reversed(pool)), settings, seed=4)
    fresh = [e for e in data.train if e.source_ids[0].startswith("new/")]
    replayed = [e for e in data.train if e.source_ids[0].startswith("old/")]
    assert data.report.replay == len(replayed) == round(len(fresh) * 0.25 / 0.75)
    assert {e.sha256 for e in replayed} == {e.sha256 for e in again.train} - {
        e.sha256 for e in fresh
    }
    assert not any(is_heldout(e.split_key, 0.2) for e in replayed)
    old_heldout = {e.sha256 for e in pool if is_heldout(e.split_key, 0.2)}
    assert old_heldout
    assert old_heldout <= {e.sha256 for e in data.heldout}
    other_seed = assemble(new, pool, settings, seed=5)
    assert {e.sha256 for e in other_seed.train} != {e.sha256 for e in data.train}


def test_replay_is_capped_by_the_pool():
    data = assemble([causal(1000 + i) for i in range(10)], [causal(1)], DataSettings(), seed=0)
    assert data.report.replay <= 1


async def test_max_examples_caps_new_chunks():
    data = await build([chunk(i) for i in range(10)], max_examples=4)
    assert data.report.causal == 4
    assert data.report.chunks_left_over == 6


async def test_personal_data_is_masked_before_anything_is_written(tmp_path):
    chunks = [
        chunk(1, f"Applicant ID {ID}, card {CARD}."),
        chunk(2, f"Call {PHONE} or mail {EMAIL} about it."),
    ]
    rated = [
        RatedAnswer(
            question=f"What is the number of {EMAIL}?", answer=f"It is {PHONE} [1].",
            citations=[chunks[1]], rating=5, comment=f"thanks, {ID}",
        )
    ]  # fmt: skip
    data = await build(chunks, rated, heldout_fraction=0.5)
    write_dataset(tmp_path, data)
    written = "".join(p.read_text() for p in tmp_path.iterdir())
    for raw in (ID, CARD, CARD.replace(" ", ""), PHONE, EMAIL):
        assert raw not in written
    for placeholder in ("[ID]", "[CARD]", "[PHONE]", "[EMAIL]"):
        assert placeholder in written
    assert data.report.pii["PHONE"] >= 2


async def test_datasets_round_trip_and_tampering_is_refused(tmp_path):
    data = await build([chunk(i) for i in range(12)], heldout_fraction=0.3)
    manifest = write_dataset(tmp_path / "run1", data)
    assert manifest["train"] == [e.sha256 for e in data.train]
    assert read_dataset(tmp_path / "run1") == data
    other = await build([chunk(i) for i in range(20, 23)])
    write_dataset(tmp_path / "run2", other)
    pool = read_examples([tmp_path / "run1", tmp_path / "run2"])
    assert len(pool) == 15
    path = tmp_path / "run1" / "train.jsonl"
    lines = path.read_text().splitlines()
    row = json.loads(lines[0])
    row["completion"] = "Something else."
    path.write_text("\n".join([json.dumps(row), *lines[1:]]) + "\n")
    with pytest.raises(RagError, match="does not match its sha256"):
        read_dataset(tmp_path / "run1")
    path.write_text("\n".join(lines[1:]) + "\n")
    with pytest.raises(RagError, match=r"does not match manifest\.json"):
        read_dataset(tmp_path / "run1")
    with pytest.raises(NotFound):
        read_dataset(tmp_path / "nowhere")
