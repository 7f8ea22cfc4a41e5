"""ONNX Runtime engines: the same vectors as torch, refused when not, and exported once."""

import logging
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

from core.embeddings import Embedder, SentenceTransformerEmbedder, open_embedder
from core.embeddings.factory import AUTO_ORDER
from core.embeddings.onnx_export import FP32, graph_folder
from core.embeddings.quality import MIN_COSINE, SAMPLE
from core.embeddings.st_folder import describe
from core.settings import EmbeddingSettings
from tests.support.env import EVAL_DIR

SCIFACT = EVAL_DIR / "beir" / "scifact" / "corpus.jsonl"


def opened(engines: dict[str, Embedder], models_cache: Path, name: str) -> Embedder:
    if name not in engines:
        engines[name] = open_embedder(EmbeddingSettings(backend=name), models_cache)
    return engines[name]


def texts() -> list[str]:
    """The quality sample plus real abstracts when the eval data is here."""
    import json

    found = list(SAMPLE)
    if SCIFACT.is_file():
        with SCIFACT.open() as lines:
            for line, _ in zip(lines, range(40), strict=False):
                record = json.loads(line)
                found.append(f"{record['title']}\n\n{record['text']}")
    return found


@pytest.mark.parametrize(("name", "floor"), [("onnx", 0.9999), ("onnx-int8", MIN_COSINE - 0.01)])
def test_onnx_vectors_match_torch(engines, models_cache, name, floor):
    candidate = opened(engines, models_cache, name)
    assert type(candidate).__name__ == "OnnxEmbedder", f"{name} fell back to torch"
    reference = opened(engines, models_cache, "torch")
    sample = texts()
    cosines = np.sum(
        np.asarray(candidate.embed_documents(sample))
        * np.asarray(reference.embed_documents(sample)),
        axis=1,
    )
    assert cosines.min() >= floor, cosines.min()
    assert candidate.token_spans(SAMPLE[5]) == reference.token_spans(SAMPLE[5])
    assert candidate.max_tokens == reference.max_tokens


def tampered_copy(models_cache: Path, tmp_path: Path, corrupt: Callable[[Path], None]) -> Path:
    """A cache holding a copy of the session's fp32 graph, spoilt by `corrupt(path)`."""
    opened({}, models_cache, "onnx")  # make sure the session's graph exists
    model = describe("bundled")
    source, target = graph_folder(model, models_cache), graph_folder(model, tmp_path)
    shutil.copytree(source, target)
    corrupt(target / FP32)
    return tmp_path


def scramble_a_weight(path):
    """Still a valid graph that runs, but the last LayerNorm's scales come in reverse order."""
    graph = onnx.load(str(path))
    (init,) = [i for i in graph.graph.initializer if i.name.endswith("5.output.LayerNorm.weight")]
    init.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(init)[::-1].copy(), init.name))
    onnx.save(graph, str(path))


def truncate(path):
    path.write_bytes(path.read_bytes()[:10_000])


@pytest.mark.parametrize("corrupt", [scramble_a_weight, truncate])
def test_a_corrupted_cached_graph_is_refused_and_torch_takes_over(
    models_cache, tmp_path, caplog, corrupt
):
    cache = tampered_copy(models_cache, tmp_path, corrupt)
    with caplog.at_level(logging.WARNING, logger="core.embeddings"):
        embedder = open_embedder(EmbeddingSettings(backend="onnx"), cache)
    assert isinstance(embedder, SentenceTransformerEmbedder)
    assert "embedding engine onnx refused" in caplog.text
    assert "embedding with torch" in caplog.text
    if corrupt is scramble_a_weight:  # the check ran and measured how far off it is
        assert "gives cosine" in caplog.text


def test_the_cache_is_reused_on_the_second_open(models_cache, caplog):
    opened({}, models_cache, "onnx-int8")
    folder = graph_folder(describe("bundled"), models_cache)
    before = {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}
    with caplog.at_level(logging.INFO, logger="core.embeddings"):
        again = open_embedder(EmbeddingSettings(backend="onnx-int8"), models_cache)
    assert type(again).__name__ == "OnnxEmbedder"
    assert "exporting" not in caplog.text
    assert {p.name: p.stat().st_mtime_ns for p in folder.iterdir()} == before
    assert "model-int8.check.json" in before  # the quality check is not run again either


def test_auto_takes_the_first_engine_that_passes(embedder):
    assert type(embedder).__name__ == "OnnxEmbedder"
    assert embedder.engine == AUTO_ORDER[0]
