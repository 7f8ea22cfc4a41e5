r"""Extractive answers: the retrieved sentences closest to the question, each with its marker.

Used when no LLM is configured or it failed. The sentences of the retrieved passages are first
ranked lexically (BM25 over the candidates, see `preselect`); the best `candidates` of them are
embedded with the same model as the passages (vectors cached by sentence: the same passages come
back for related questions) and ranked by cosine similarity to the query, with a small bonus for
the passage's retrieval rank; the best few, each followed by `[n]` (n the passage's number), make
the answer. Nothing close enough means the knowledge base does not say.

A question with Chinese in it ("Redis缓存的TTL是多少秒") is scored mostly by lexical overlap:
the share of the question's terms (the BM25 tokenizer's: Chinese words, English terms and
identifiers kept whole) that the sentence contains, as `LEXICAL_WEIGHT * overlap +
(1 - LEXICAL_WEIGHT) * cosine`; an embedding model that reads only English cannot rank Chinese
sentences, and a multilingual one still misses exact terms like Q2_K. Sentences end at
Chinese full stops, exclamation and question marks and semicolons, and at English sentence
ends; a line break inside Chinese text (PDF line wrapping) is joined without a space, so a
number wrapped away from its unit still reads "3600秒". Chunks never cross a page, so the
marker's passage carries the page the sentence is on.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from core.embeddings import Embedder
from core.sparse import Bm25Encoder
from serving.chat.preselect import bm25_scores, preselect
from serving.chat.vectors import SentenceVectors

_END = re.compile(
    r"(?<=[.!?])(?<!\b[A-Z]\.)(?<!\bInc\.)(?<!\bCo\.)(?<!\bNo\.)(?<!\bvs\.)(?<!\be\.g\.)"
    r"(?<!\bi\.e\.)\s+|(?<=[\u3002\uff01\uff1f\uff1b])|\n\s*\n"
)
MAX_SENTENCE_CHARS = 400
MIN_SENTENCE_WORDS = 4
RANK_BONUS = 0.02  # per place above the last passage: breaks near-ties towards better passages
LEXICAL_WEIGHT = 0.7
_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
# One line break (not a blank line) with Chinese on at least one side: PDF line wrapping.
_WRAPPED = re.compile(
    rf"(?<=[{_HAN}\u3000-\u303f\uff00-\uffef])[ \t]*\n[ \t]*(?=[{_HAN}\d])"
    rf"|(?<=\d)[ \t]*\n[ \t]*(?=[{_HAN}])"
)
# Question words and particles: they are in the question, never in the answer.
_QUESTION_WORDS = frozenset(
    {
        "的", "了", "是", "吗", "呢", "什么", "哪", "哪些", "哪个", "如何", "怎么", "怎样", "多少",
        "几", "谁", "为什么", "请问", "是否", "有", "在",
    }
)  # fmt: skip


def sentences(text: str) -> list[str]:
    """Sentences of a passage, lines joined; over-long runs (tables) cut at line ends."""
    out: list[str] = []
    for block in _END.split(_WRAPPED.sub("", text)):
        for piece in _pack(block.splitlines()) if len(block) > MAX_SENTENCE_CHARS else [block]:
            sentence = " ".join(piece.split())
            if len(sentence.split()) >= MIN_SENTENCE_WORDS or _cjk(sentence):
                out.append(sentence[:MAX_SENTENCE_CHARS])
    return out


def _pack(lines: list[str]) -> list[str]:
    pieces = [""]
    for line in lines:
        if pieces[-1] and len(pieces[-1]) + len(line) > MAX_SENTENCE_CHARS:
            pieces.append("")
        pieces[-1] += line + "\n"
    return pieces


def _cjk(text: str) -> bool:
    return len(text) >= 4 and any(
        "\u3040" <= c <= "\u9fff" or "\uac00" <= c <= "\ud7af" for c in text
    )


@dataclass(frozen=True)
class Extract:
    """One chosen sentence from passage number `passage` (from 1)."""

    passage: int
    sentence: str
    score: float


class ExtractiveAnswerer:
    """Picks the sentences of the retrieved passages that best answer the query.

    `candidates` is how many lexically best sentences are embedded (0: every sentence);
    `cache_size` how many sentence vectors are kept, least recently used out; `bm25` tokenizes
    for the lexical ranking and the overlap with a Chinese question (the index's tokenizer).
    """

    def __init__(
        self,
        embedder: Embedder,
        *,
        sentences: int,
        min_similarity: float,
        candidates: int = 0,
        cache_size: int = 0,
        bm25: Bm25Encoder | None = None,
    ) -> None:
        self._embedder = embedder
        self._count = sentences
        self._min = min_similarity
        self._candidates = candidates
        self._bm25 = bm25 or Bm25Encoder()
        self.vectors = SentenceVectors(embedder, cache_size)

    async def extracts(self, query: str, passages: Sequence[str]) -> list[Extract]:
        """The best sentences of `passages` (numbered from 1 in order), best first.

        Empty when none is similar enough to the query.
        """
        candidates = _unique(
            (number, s) for number, text in enumerate(passages, 1) for s in sentences(text)
        )
        if not candidates:
            return []
        scored = await asyncio.to_thread(self._score, query, candidates)
        bonus = {n: RANK_BONUS * (len(passages) - n) for n in range(1, len(passages) + 1)}
        ranked = sorted(scored, key=lambda e: -(e.score + bonus[e.passage]))
        return [e for e in ranked[: self._count] if e.score >= self._min]

    def _score(self, query: str, candidates: list[tuple[int, str]]) -> list[Extract]:
        if 0 < self._candidates < len(candidates):
            lexical = bm25_scores(self._bm25, query, [s for _, s in candidates])
            keep = preselect(lexical, [n for n, _ in candidates], self._candidates)
            candidates = [candidates[i] for i in keep]
        q = np.asarray(self._embedder.embed_query(query), dtype=np.float32)
        similarities = [float(s) for s in self.vectors.matrix([s for _, s in candidates]) @ q]
        if re.search(f"[{_HAN}]", query):
            overlaps = self._overlaps(query, [s for _, s in candidates])
            similarities = [
                LEXICAL_WEIGHT * o + (1 - LEXICAL_WEIGHT) * s
                for o, s in zip(overlaps, similarities, strict=True)
            ]
        return [
            Extract(number, sentence, similarity)
            for (number, sentence), similarity in zip(candidates, similarities, strict=True)
        ]

    def _overlaps(self, query: str, texts: list[str]) -> list[float]:
        terms = {t for t in self._bm25.tokens(query) if t not in _QUESTION_WORDS}
        if not terms:
            return [0.0] * len(texts)
        return [len(terms & set(self._bm25.tokens(text))) / len(terms) for text in texts]


def _unique(pairs: Iterable[tuple[int, str]]) -> list[tuple[int, str]]:
    seen: set[str] = set()
    out: list[tuple[int, str]] = []
    for number, sentence in pairs:
        key = sentence.lower()
        if key not in seen:
            seen.add(key)
            out.append((number, sentence))
    return out


def render(extracts: Sequence[Extract]) -> str:
    """The answer text: each sentence followed by its passage's marker."""
    return " ".join(f"{e.sentence} [{e.passage}]" for e in extracts)
