"""Length-bucketed batches: texts of similar length share a batch, so padding stays small."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

import numpy as np
import numpy.typing as npt

T = TypeVar("T")
Vectors = npt.NDArray[np.float32]


def length_buckets(lengths: Sequence[int], batch_size: int) -> list[list[int]]:
    """Indices sorted by length (longest first), cut into batches of `batch_size`.

    Longest first so that a batch that runs out of memory does so at once, not at the end,
    as sentence-transformers does. The sort is stable, so equal lengths keep their order.
    """
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


def embed_bucketed(
    items: Sequence[T],
    lengths: Sequence[int],
    batch_size: int,
    embed_batch: Callable[[list[T]], Vectors],
    dimension: int,
) -> Vectors:
    """Run `embed_batch` over length buckets and put the rows back in the input's order."""
    out = np.empty((len(items), dimension), dtype=np.float32)
    for batch in length_buckets(lengths, batch_size):
        out[batch] = embed_batch([items[i] for i in batch])
    return out


def l2_normalise(vectors: Vectors) -> Vectors:
    """Rows scaled to unit length; an all-zero row stays zero instead of becoming NaN."""
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    result: Vectors = vectors / np.maximum(norms, 1e-12)
    return result
