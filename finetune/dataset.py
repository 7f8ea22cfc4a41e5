"""A run's dataset: new examples, PII masked and deduplicated, split, with replay mixed in.

- With an LLM: RAFT examples about the new chunks (`finetune.raft`); without one, causal-LM
  examples on their text. Well-rated answers join either way (`finetune.recipes`).
- Every text is masked (`core.privacy`) before any example exists, LLM replies included.
- Held-out or train is decided by a hash of the example's source chunks (else of its
  content), so an example, and every question about one chunk, stays on one side across
  runs. Earlier examples that hash to held-out are never replayed into training.
- Replay: a seeded sample of earlier training examples makes up `replay_fraction` of the
  training set, which limits forgetting.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence

from pydantic import BaseModel, Field

from core.llm.client import LLMClient
from core.privacy import PiiMasker
from finetune.examples import Example, RatedAnswer, SourceChunk
from finetune.raft import RaftBuilder, RaftReport
from finetune.recipes import causal_examples, feedback_examples
from finetune.settings import DataSettings


class BuildReport(BaseModel):
    """Counts of what went into the dataset and what was left out, and why."""

    chunks: int = 0
    chunks_left_over: int = Field(0, description="New chunks beyond max_examples, not used.")
    raft: int = 0
    raft_no_gold: int = 0
    llm_unusable: int = Field(0, description="Chunks skipped: the LLM's reply was not usable.")
    llm_failed: int = Field(0, description="Chunks skipped: the LLM call failed.")
    causal: int = 0
    feedback: int = 0
    feedback_low_rating: int = 0
    feedback_broken: int = Field(0, description="Answers citing passages they do not carry.")
    duplicates: int = 0
    replay: int = 0
    train: int = 0
    heldout: int = 0
    pii: dict[str, int] = Field(default_factory=dict, description="Masked items by kind.")


class Dataset(BaseModel):
    """Training and held-out examples with the report of how they were made."""

    train: list[Example]
    heldout: list[Example]
    report: BuildReport = Field(default_factory=BuildReport)


def is_heldout(key: str, fraction: float) -> bool:
    """Stable for a key and fraction: the first 64 bits of its sha256 as a share of 2**64."""
    return int(hashlib.sha256(key.encode()).hexdigest()[:16], 16) < fraction * 2**64


async def build_dataset(
    chunks: Sequence[SourceChunk],
    rated: Sequence[RatedAnswer],
    settings: DataSettings,
    *,
    llm: LLMClient | None,
    seed: int,
    replay_pool: Sequence[Example] = (),
    distractor_pool: Sequence[SourceChunk] = (),
) -> Dataset:
    """The dataset of one run.

    Args:
        chunks: chunks of new or changed documents.
        rated: answers users rated since the last run.
        settings: shares, limits and RAFT shape.
        llm: writes the RAFT questions; None trains causal LM on the chunks instead.
        seed: makes sampling, shuffling and no-gold choices repeatable.
        replay_pool: earlier runs' examples (read back with `finetune.dataset_io`).
        distractor_pool: older chunks that may serve as RAFT distractors.
    """
    masker = PiiMasker()
    report = BuildReport(chunks=len(chunks))
    used = [_masked(c, masker) for c in chunks[: settings.max_examples]]
    report.chunks_left_over = len(chunks) - len(used)
    if llm is not None:
        pool = [_masked(c, masker) for c in distractor_pool]
        builder = RaftBuilder(llm, settings, masker, seed=seed)
        new, raft = await builder.build(used, pool)
        _add_raft(report, raft)
    else:
        new = causal_examples(used)
        report.causal = len(new)
    answers = [_masked_answer(a, masker) for a in rated]
    liked, report.feedback_low_rating, report.feedback_broken = feedback_examples(
        answers, settings.min_rating
    )
    report.feedback = len(liked)
    dataset = assemble([*new, *liked], replay_pool, settings, seed=seed, report=report)
    report.pii = dict(masker.counts)
    return dataset


def assemble(
    new: Sequence[Example],
    replay_pool: Sequence[Example],
    settings: DataSettings,
    *,
    seed: int,
    report: BuildReport | None = None,
) -> Dataset:
    """Dedupe by sha256, split by hash, mix replay into train; held-out includes old held-out."""
    report = report or BuildReport()
    seen: set[str] = set()
    fresh = _unique(new, seen)
    report.duplicates = len(new) - len(fresh)
    old = sorted(_unique(replay_pool, seen), key=lambda e: e.sha256)
    fraction = settings.heldout_fraction
    train = [e for e in fresh if not is_heldout(e.split_key, fraction)]
    old_train = [e for e in old if not is_heldout(e.split_key, fraction)]
    heldout = [e for e in [*fresh, *old] if is_heldout(e.split_key, fraction)]
    rng = random.Random(seed)
    share = settings.replay_fraction
    wanted = round(len(train) * share / (1 - share))
    replay = rng.sample(old_train, min(wanted, len(old_train)))
    train = [*train, *replay]
    rng.shuffle(train)
    if len(heldout) > settings.max_examples:
        heldout = rng.sample(heldout, settings.max_examples)
    report.replay, report.train, report.heldout = len(replay), len(train), len(heldout)
    return Dataset(train=train, heldout=heldout, report=report)


def _unique(examples: Sequence[Example], seen: set[str]) -> list[Example]:
    kept = []
    for example in examples:
        if example.sha256 not in seen:
            seen.add(example.sha256)
            kept.append(example)
    return kept


def _masked(chunk: SourceChunk, masker: PiiMasker) -> SourceChunk:
    fields = {name: masker.mask(getattr(chunk, name)) for name in ("title", "source", "text")}
    return chunk.model_copy(update=fields)


def _masked_answer(rated: RatedAnswer, masker: PiiMasker) -> RatedAnswer:
    return rated.model_copy(
        update={
            "question": masker.mask(rated.question),
            "answer": masker.mask(rated.answer),
            "comment": masker.mask(rated.comment),
            "citations": [_masked(c, masker) for c in rated.citations],
        }
    )


def _add_raft(report: BuildReport, raft: RaftReport) -> None:
    report.raft, report.raft_no_gold = raft.examples, raft.no_gold
    report.llm_unusable, report.llm_failed = raft.unusable, raft.failed
