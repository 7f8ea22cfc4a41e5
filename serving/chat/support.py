"""Citation check: each claim that carries a marker, against the passage the marker cites.

A claim is the sentence (or clause) just before a marker run. It is supported when
- every number in it and every named term (identifiers such as FP16, Q2_K, Qwen-14B, acronyms,
  capitalised names inside a sentence, any Latin word of a Chinese sentence) appears in the
  passage: a claim that brings its own figures or names cannot be backed by a passage that
  lacks them, however close the rest;
- and its support score reaches the threshold. Lexical support is the share of the claim's
  content words found in the passage (the BM25 tokenizer: Chinese words, stemmed English),
  or of its Chinese character bigrams where jieba segments differently; semantic support is
  the cosine of claim and passage under the embedding model. The score is
  `LEXICAL_WEIGHT * lexical + (1 - LEXICAL_WEIGHT) * semantic` with an embedder, else lexical.

Weights and threshold were chosen on the first half of `bench/citation_check.py`'s cases and
are reported on the second half (README, "Chinese documents and questions").
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from core.embeddings import Embedder
from core.sparse import MixedTokenizer, Tokenizer
from serving.chat.protocol import Citation

LEXICAL_WEIGHT = 0.7
THRESHOLD = 0.5

_MARKERS = re.compile(r"(?:[ \t]*\[\d{1,3}\])+")
# A full stop ends a sentence only before a space or the end: "1.8" and "v1.2" stay whole.
_END = re.compile(r"(?:[!?;\u3002\uff01\uff1f\uff1b\n]|\.(?=\s|$))+")
# A number on its own ("3600", "1.8"), not the digits of a term such as FP16 or Qwen-7B.
_NUMBER = re.compile(r"(?<![A-Za-z0-9_.\-])\d+(?:[.,]\d+)*(?![A-Za-z0-9_])")
_LATIN = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[-_./+][A-Za-z0-9]+)*|\d+[A-Za-z][A-Za-z0-9_]*")
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
# Chinese function words and question words: they say nothing about what a passage supports.
_FUNCTION = frozenset(
    {
        "的", "了", "是", "在", "和", "与", "及", "或", "也", "都", "而", "被", "把", "对", "为",
        "以", "于", "之", "其", "这", "那", "有", "个", "等", "中", "上", "下", "不", "吗", "呢",
        "吧", "啊", "由", "从", "到", "将", "就", "还", "又", "并", "所", "着", "过", "该", "此",
        "它", "他", "她", "们", "我", "你", "一", "什么", "哪", "哪些", "如何", "怎么", "多少",
        "be", "not", "no", "can", "may", "also", "which", "what", "who", "how",
    }
)  # fmt: skip


@dataclass(frozen=True)
class Claim:
    """A claim and the citation numbers of the marker run after it."""

    text: str
    numbers: tuple[int, ...]


@dataclass(frozen=True)
class Support:
    """How well one passage backs one claim."""

    supported: bool
    score: float
    missing: tuple[str, ...] = ()  # numbers and named terms of the claim the passage lacks


def claims(answer: str) -> list[Claim]:
    """Each marker run of `answer` with the sentence or clause just before it."""
    out: list[Claim] = []
    previous_end = 0
    for run in _MARKERS.finditer(answer):
        before = answer[previous_end : run.start()]
        pieces = [p.strip() for p in _END.split(before) if p.strip()]
        numbers = tuple(int(n) for n in re.findall(r"\d+", run.group()))
        if pieces:
            out.append(Claim(pieces[-1], numbers))
        previous_end = run.end()
    return out


def _normal(text: str) -> str:
    return unicodedata.normalize("NFKC", text).lower()


def _named_terms(claim: str) -> list[str]:
    """Numbers and the Latin terms that name something (see the module docstring)."""
    terms = [n.replace(",", "") for n in _NUMBER.findall(claim)]
    chinese = _HAN.search(claim) is not None
    for i, match in enumerate(_LATIN.finditer(claim)):
        word = match.group()
        named = (
            chinese
            or any(c.isdigit() for c in word)
            or sum(c.isupper() for c in word) >= 2
            or (word[0].isupper() and match.start() > 0 and i > 0)
            or _CONNECTOR.search(word) is not None
        )
        if named and word.lower() not in _FUNCTION:
            terms.append(word)
    return terms


_CONNECTOR = re.compile(r"[-_./+]")


def _bigrams(text: str) -> set[str]:
    han = "".join(c if _HAN.match(c) else " " for c in text)
    return {run[i : i + 2] for run in han.split() for i in range(len(run) - 1)}


class SupportChecker:
    """Scores claims against passages; `embedder` adds semantic support when given."""

    def __init__(
        self,
        embedder: Embedder | None = None,
        *,
        tokenizer: Tokenizer | None = None,
        threshold: float = THRESHOLD,
        lexical_weight: float = LEXICAL_WEIGHT,
    ) -> None:
        self._embedder = embedder
        self._tokenizer = tokenizer if tokenizer is not None else MixedTokenizer()
        self.threshold, self._weight = threshold, lexical_weight

    def _words(self, text: str) -> set[str]:
        return {t for t in self._tokenizer.tokens(text) if t not in _FUNCTION}

    def checkable(self, claim: str) -> bool:
        """Says something a passage could back: two content words, or a number or name."""
        return len(self._words(claim)) >= 2 or bool(_named_terms(claim))

    def lexical(self, claim: str, passage: str) -> float:
        words = self._words(claim)
        if not words:
            return 0.0
        found = set(self._tokenizer.tokens(passage))
        score = len(words & found) / len(words)
        claim_bigrams = _bigrams(_normal(claim))
        if claim_bigrams:
            shared = len(claim_bigrams & _bigrams(_normal(passage))) / len(claim_bigrams)
            score = max(score, shared)
        return score

    def missing(self, claim: str, passage: str) -> tuple[str, ...]:
        text = _normal(passage)
        plain = text.replace(",", "")
        return tuple(
            term
            for term in _named_terms(claim)
            if _normal(term) not in text and _normal(term) not in plain
        )

    def check(self, pairs: Sequence[tuple[str, str]]) -> list[Support]:
        """Support of each (claim, passage) pair; one embedding batch for all of them."""
        lexical = [self.lexical(claim, passage) for claim, passage in pairs]
        semantic = self.semantic(pairs)
        out = []
        for (claim, passage), lex, sem in zip(pairs, lexical, semantic, strict=True):
            score = lex if sem is None else self._weight * lex + (1 - self._weight) * sem
            missing = self.missing(claim, passage)
            out.append(Support(not missing and score >= self.threshold, round(score, 3), missing))
        return out

    def semantic(self, pairs: Sequence[tuple[str, str]]) -> list[float | None]:
        if self._embedder is None or not pairs:
            return [None] * len(pairs)
        claims_ = self._embedder.embed_documents([c for c, _ in pairs])
        passages = self._embedder.embed_documents([p for _, p in pairs])
        return [
            max(0.0, sum(a * b for a, b in zip(c, p, strict=True)))
            for c, p in zip(claims_, passages, strict=True)
        ]


def review(
    checker: SupportChecker, answer: str, citations: Sequence[Citation], texts: dict[int, str]
) -> tuple[list[Citation], list[str]]:
    """Citations with `supported` and `support` set, and a warning per unsupported claim.

    `texts` is the text each citation number stands for, as the answer was given it.
    """
    pairs, owners = [], []
    for claim in claims(answer):
        if not checker.checkable(claim.text):
            continue  # ", see [2]": a pointer, not a claim
        for number in claim.numbers:
            if number in texts:
                pairs.append((claim.text, texts[number]))
                owners.append(number)
    results = checker.check(pairs)
    by_number: dict[int, list[Support]] = {}
    warnings = []
    for (claim_text, _), number, result in zip(pairs, owners, results, strict=True):
        by_number.setdefault(number, []).append(result)
        if not result.supported:
            lacking = f"; the source lacks {', '.join(result.missing)}" if result.missing else ""
            warnings.append(
                f"citation [{number}] does not support {_quote(claim_text)} "
                f"(support {result.score:.2f}{lacking})"
            )
    checked = []
    for citation in citations:
        found = by_number.get(citation.number)
        if found:
            update = {
                "supported": all(s.supported for s in found),
                "support": min(s.score for s in found),
            }
            citation = citation.model_copy(update=update)
        checked.append(citation)
    return checked, warnings


def _quote(text: str, limit: int = 80) -> str:
    return f'"{text if len(text) <= limit else text[: limit - 1] + "…"}"'
