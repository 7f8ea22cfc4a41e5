"""Open a sentence-transformers model on ONNX Runtime, only if it matches torch.

Before a graph is first used it embeds the quality sample and is compared with torch; the
result is recorded next to the graph with its SHA-256, so later starts skip the check unless
the file changed (a corrupted cache is checked again, and refused).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from core.embeddings import quality
from core.embeddings.batching import Vectors
from core.embeddings.onnx_backend import OnnxEmbedder
from core.embeddings.onnx_export import export_fp32, graph_folder, quantise_int8
from core.embeddings.st_folder import StFolder
from core.settings import EmbeddingSettings

logger = logging.getLogger(__name__)


class Refused(Exception):
    """The engine cannot run this model, or runs it too far from torch."""


def torch_reference(model: StFolder) -> Vectors:
    """The sample's vectors from sentence-transformers on torch, the reference."""
    from core.embeddings.torch_backend import load_sentence_transformer

    st: Any = load_sentence_transformer(str(model.path), "cpu")
    vectors = st.encode(
        list(quality.SAMPLE), normalize_embeddings=True, convert_to_numpy=True,
        show_progress_bar=False,
    )  # fmt: skip
    return np.asarray(vectors, dtype=np.float32)


def build_graph(model: StFolder, engine: str, cache_dir: Path) -> Path:
    """The cached graph for `engine`, exported (and quantised) first when missing."""
    folder = graph_folder(model, cache_dir)
    fp32 = export_fp32(model, folder)
    return quantise_int8(fp32) if engine == "onnx-int8" else fp32


def open_onnx(
    model: StFolder, engine: str, settings: EmbeddingSettings, cache_dir: Path
) -> OnnxEmbedder:
    """An OnnxEmbedder for `engine` ('onnx' or 'onnx-int8'), or Refused with the reason."""
    try:
        graph = build_graph(model, engine, cache_dir)
    except Exception as exc:  # the exporter or quantiser failed on this architecture
        raise Refused(f"exporting {model.name} to ONNX failed: {exc}") from exc
    try:
        # Dynamic int8 takes one activation scale per batch, so batch mates (and the padding
        # they bring) would change a text's vector; one text per run keeps int8 vectors the same
        # at ingestion and at query time, and needs no padding at all.
        batch_size = 1 if engine == "onnx-int8" else settings.batch_size
        embedder = OnnxEmbedder(
            graph, model, batch_size=batch_size, threads=settings.threads, engine=engine
        )
    except Exception as exc:  # a corrupt or unreadable graph: ONNX Runtime's own errors
        raise Refused(f"ONNX Runtime cannot load {graph}: {exc}") from exc
    result = quality.recorded(graph)
    if result is None:
        candidate = embedder.vectors(quality.SAMPLE)
        result = quality.compare(candidate, torch_reference(model))
        quality.record(graph, result)
    if not result.passed:
        raise Refused(
            f"{graph} gives cosine {result.min_cosine:.4f} to torch on the quality sample "
            f"(at least {quality.MIN_COSINE} needed); delete that folder to export it again"
        )
    logger.info("%s passed the quality check (lowest cosine to torch %.4f)", engine,
                result.min_cosine)  # fmt: skip
    return embedder
