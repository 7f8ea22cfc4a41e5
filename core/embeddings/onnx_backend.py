"""A sentence-transformers model run by ONNX Runtime on the CPU: same vectors, less overhead.

Tokenised by the model folder's own fast (Rust) tokenizer, batched by length so that no text
is padded beyond its batch's longest, pooled and normalised as sentence-transformers does.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from core.embeddings.batching import Vectors, embed_bucketed, l2_normalise
from core.embeddings.st_folder import StFolder

logger = logging.getLogger(__name__)


def cpu_count() -> int:
    """The cores this process may run on (a container's CPU set, not the host's)."""
    return len(os.sched_getaffinity(0))


def session(graph: Path, threads: int | None) -> Any:
    """An ONNX Runtime session with every graph optimisation and one thread per core."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = threads or cpu_count()
    options.inter_op_num_threads = 1
    options.log_severity_level = 3  # its warnings about unused initializers are noise here
    # Idle threads sleep instead of spinning: the cores are shared with parsing, the store and
    # the web server; on this 2-core machine, busy with other jobs, spinning doubled the time
    # of a query (68 ms against 33 ms, measured side by side on 2026-11-29).
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(graph), options, providers=["CPUExecutionProvider"])


class OnnxEmbedder:
    """The transformer as an ONNX graph; pooling and normalisation in numpy."""

    def __init__(
        self, graph: Path, model: StFolder, *, batch_size: int, threads: int | None, engine: str
    ) -> None:
        from tokenizers import Tokenizer

        self._session = session(graph, threads)
        self._inputs = [i.name for i in self._session.get_inputs()]
        self._spans_tokenizer: Any = Tokenizer.from_file(str(model.tokenizer_file))
        self._spans_tokenizer.no_padding()
        self._spans_tokenizer.no_truncation()
        self._tokenizer: Any = Tokenizer.from_file(str(model.tokenizer_file))
        self._tokenizer.no_padding()  # padding is ours, per bucket
        self._tokenizer.enable_truncation(model.max_seq_length)
        self._pooling = model.pooling
        self._batch_size = batch_size
        self.engine = engine
        self.name = model.name
        self.dimension = model.hidden_size
        specials = len(self._tokenizer.encode("").ids)
        self.max_tokens = model.max_seq_length - specials
        logger.info("embedding model %s loaded on %s (%d dimensions)", self.name, engine,
                    self.dimension)  # fmt: skip

    def token_spans(self, text: str) -> list[tuple[int, int]]:
        encoded = self._spans_tokenizer.encode(text, add_special_tokens=False)
        return [(int(a), int(b)) for a, b in encoded.offsets]

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        rows: list[list[float]] = self.vectors(texts).tolist()
        return rows

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]

    def vectors(self, texts: Sequence[str]) -> Vectors:
        if not texts:
            return np.empty((0, self.dimension), dtype=np.float32)
        encodings = self._tokenizer.encode_batch(list(texts))
        lengths = [len(e.ids) for e in encodings]
        return embed_bucketed(encodings, lengths, self._batch_size, self._run, self.dimension)

    def _run(self, encodings: list[Any]) -> Vectors:
        width = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(encodings), width), dtype=np.int64)  # padding is masked out
        mask = np.zeros((len(encodings), width), dtype=np.int64)
        for row, encoding in enumerate(encodings):
            ids[row, : len(encoding.ids)] = encoding.ids
            mask[row, : len(encoding.ids)] = 1
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        (hidden,) = self._session.run(None, {name: feeds[name] for name in self._inputs})
        if self._pooling == "cls":
            return l2_normalise(hidden[:, 0, :].astype(np.float32))
        weights = mask[:, :, None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        return l2_normalise(pooled.astype(np.float32))
