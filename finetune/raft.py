"""RAFT examples: a question about a chunk, its passage among distractors, a cited answer.

An LLM writes a question about each new chunk; the example then holds the question, the gold
chunk among distractor passages, and an answer citing the gold's number.

The passages are numbered and framed exactly as the answer service frames retrieved ones, so
the adapter learns the serving format: read the passages, cite the right one, ignore the
rest. A share of examples (RAFT's ~20%) leave the gold passage out; their completion is the
service's "not in the knowledge base" reply. A chunk whose LLM reply is unusable or fails is
skipped and counted: one bad reply never sinks the dataset.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass

from core.errors import UpstreamError
from core.llm.client import LLMClient
from core.llm.prompts import NOT_IN_KB
from core.privacy import PiiMasker
from finetune.examples import Example, SourceChunk, passages_prompt
from finetune.settings import DataSettings

logger = logging.getLogger(__name__)

QUESTION_SYSTEM = """You write training data for an assistant that answers questions from an \
organisation's knowledge base. Given one passage, write one question a user could ask that \
this passage alone answers, and the answer, taken only from the passage, in one to three \
sentences. Write both in the language of the passage. Reply with only a JSON object: \
{"question": "...", "answer": "..."}"""

_FENCE = re.compile(r"^```(?:json)?\s*|\s*```$")
_MARKERS = re.compile(r"\s*\[\d+(?:\s*,\s*\d+)*\]")
_SENTENCE_END = re.compile(r"(?<=[.!?\u3002\uff01\uff1f])\s*")


@dataclass
class RaftReport:
    """What became of the chunks sent to the LLM."""

    examples: int = 0
    no_gold: int = 0
    unusable: int = 0
    failed: int = 0


def parse_reply(reply: str) -> tuple[str, str] | None:
    """(question, answer) from the LLM's JSON reply, or None when it is unusable."""
    text = _FENCE.sub("", reply.strip())
    start, end = text.find("{"), text.rfind("}")
    try:
        data = json.loads(text[start : end + 1]) if 0 <= start < end else None
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    question, answer = data.get("question"), data.get("answer")
    if not (isinstance(question, str) and isinstance(answer, str)):
        return None
    question, answer = question.strip(), _MARKERS.sub("", answer).strip()
    if not question or not answer or answer.strip('"') == NOT_IN_KB:
        return None
    return question, answer


def cite(answer: str, number: int) -> str:
    """Each sentence followed by ` [number]`, as the service's own answers cite."""
    parts = [s.strip() for s in _SENTENCE_END.split(answer) if s.strip()]
    return " ".join(f"{sentence} [{number}]" for sentence in parts)


class RaftBuilder:
    """Turns chunks (already PII-masked) into RAFT examples with one LLM call each."""

    def __init__(
        self, llm: LLMClient, settings: DataSettings, masker: PiiMasker, *, seed: int
    ) -> None:
        self._llm = llm
        self._settings = settings
        self._masker = masker
        self._seed = seed

    async def build(
        self, chunks: Sequence[SourceChunk], pool: Sequence[SourceChunk] = ()
    ) -> tuple[list[Example], RaftReport]:
        """One example per usable chunk; distractors come from the other chunks and `pool`."""
        report = RaftReport()
        # Sorted, so that the draw does not depend on the order chunks were collected in.
        candidates = sorted({c.id: c for c in [*chunks, *pool]}.values(), key=lambda c: c.id)
        limit = asyncio.Semaphore(self._settings.llm_concurrency)

        async def one(chunk: SourceChunk) -> Example | None:
            async with limit:
                return await self._example(chunk, candidates, report)

        made = await asyncio.gather(*(one(chunk) for chunk in chunks))
        examples = [e for e in made if e is not None]
        report.examples = len(examples)
        return examples, report

    async def _example(
        self, gold: SourceChunk, candidates: list[SourceChunk], report: RaftReport
    ) -> Example | None:
        passage = f"{gold.title or gold.source}, page {gold.page}:\n{gold.text}"
        messages = [
            {"role": "system", "content": QUESTION_SYSTEM},
            {"role": "user", "content": f"Passage:\n{passage}"},
        ]
        try:
            reply = await self._llm.complete(messages, temperature=0.7)
        except UpstreamError as exc:
            logger.warning("question for chunk %s failed: %s", gold.id, exc.message)
            report.failed += 1
            return None
        parsed = parse_reply(reply)
        if parsed is None:
            logger.warning("unusable question reply for chunk %s", gold.id)
            report.unusable += 1
            return None
        question, answer = (self._masker.mask(text) for text in parsed)
        # One generator per chunk: the same chunk gets the same draw whatever the order.
        rng = random.Random(f"{self._seed}:{gold.id}")
        no_gold = rng.random() < self._settings.no_gold_fraction
        others = [c for c in candidates if c.id != gold.id and c.text != gold.text]
        count = min(len(others), self._settings.distractors + int(no_gold))
        passages = rng.sample(others, count) + ([] if no_gold else [gold])
        rng.shuffle(passages)
        if no_gold:
            report.no_gold += 1
            completion = NOT_IN_KB
        else:
            completion = cite(answer, passages.index(gold) + 1)
        return Example.create("raft", passages_prompt(question, passages), completion, [gold.id])
