"""Collapse near-duplicate passages: the same text ingested twice, boilerplate pages."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TypeVar

_WORD = re.compile(r"\w+")
T = TypeVar("T")


def shingles(text: str, size: int = 5) -> frozenset[str]:
    """Word n-grams; CJK text without spaces falls back to character n-grams."""
    words = _WORD.findall(text.lower())
    if len(words) < size * 2 and len(text) > len(words) * 4:  # mostly unspaced CJK
        words = [c for c in text if not c.isspace()]
    if len(words) <= size:
        return frozenset([" ".join(words)])
    return frozenset(" ".join(words[i : i + size]) for i in range(len(words) - size + 1))


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    """Size of the intersection over size of the union."""
    return len(a & b) / len(a | b) if a or b else 1.0


def collapse(items: Sequence[T], texts: Sequence[str], threshold: float) -> list[T]:
    """Keep items in order, dropping each one too similar to an item already kept."""
    kept: list[T] = []
    kept_shingles: list[frozenset[str]] = []
    for item, text in zip(items, texts, strict=True):
        these = shingles(text)
        # Jaccard can't exceed the ratio of the smaller set to the larger: skip those pairs.
        if any(
            min(len(these), len(seen)) >= threshold * max(len(these), len(seen))
            and jaccard(these, seen) >= threshold
            for seen in kept_shingles
        ):
            continue
        kept.append(item)
        kept_shingles.append(these)
    return kept
