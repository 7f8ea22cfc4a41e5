"""Collapse near-duplicate passages: the same text ingested twice, boilerplate pages."""

from __future__ import annotations

import heapq
import re
from collections import defaultdict
from collections.abc import Sequence
from typing import TypeVar

_WORD = re.compile(r"\w+")
T = TypeVar("T")
SKETCH = 8


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
    """Keep items in order, dropping each one too similar to an item already kept.

    Comparing every pair is quadratic, so each text gets a bottom-k MinHash sketch and only
    texts sharing a sketch value are compared: two texts with Jaccard J share the minimum
    hash of their union with probability J, so near-duplicates almost always meet.
    """
    kept: list[T] = []
    kept_shingles: list[frozenset[str]] = []
    by_sketch: dict[int, list[int]] = defaultdict(list)
    for item, text in zip(items, texts, strict=True):
        these = shingles(text)
        sketch = heapq.nsmallest(SKETCH, map(hash, these))
        candidates = {j for value in sketch for j in by_sketch.get(value, ())}
        if any(jaccard(these, kept_shingles[j]) >= threshold for j in candidates):
            continue
        for value in sketch:
            by_sketch[value].append(len(kept))
        kept.append(item)
        kept_shingles.append(these)
    return kept
