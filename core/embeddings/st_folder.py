"""What a sentence-transformers folder holds, as far as running it outside torch needs."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.embeddings.torch_backend import model_name, model_source

# Modules we can reproduce: the transformer, then mean or CLS pooling, then (optionally)
# L2 normalisation, which we always apply since the protocol promises unit vectors.
_TRANSFORMER = "sentence_transformers.models.Transformer"
_POOLING = "sentence_transformers.models.Pooling"
_NORMALIZE = "sentence_transformers.models.Normalize"
_WEIGHTS = ("model.safetensors", "pytorch_model.bin")


class UnsupportedModel(Exception):
    """This folder's pipeline is not one the ONNX engine reproduces; torch must run it."""


@dataclass(frozen=True)
class StFolder:
    """A local sentence-transformers model: where it is and how it pools."""

    path: Path
    name: str
    max_seq_length: int
    pooling: str  # "mean" or "cls"
    hidden_size: int

    @property
    def tokenizer_file(self) -> Path:
        return self.path / "tokenizer.json"

    def weights_digest(self) -> str:
        """SHA-256 over the weights and config, so a changed model never reuses a graph."""
        digest = hashlib.sha256()
        for name in (*_WEIGHTS, "config.json", "tokenizer.json"):
            file = self.path / name
            if file.is_file():
                digest.update(name.encode())
                with file.open("rb") as handle:
                    for block in iter(lambda: handle.read(1 << 20), b""):
                        digest.update(block)
        return digest.hexdigest()


def _read(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UnsupportedModel(f"cannot read {path}: {exc}") from exc


def _pooling(path: Path, modules: list[dict[str, Any]]) -> str:
    config = _read(path / modules[1]["path"] / "config.json")
    if config.get("pooling_mode_mean_tokens"):
        return "mean"
    if config.get("pooling_mode_cls_token"):
        return "cls"
    raise UnsupportedModel(f"pooling {config} is neither mean nor CLS")


def describe(model: str) -> StFolder:
    """Read the folder's module list; UnsupportedModel unless it is transformer + pooling."""
    path = Path(model_source(model))
    if not path.is_dir():
        raise UnsupportedModel(f"{model!r} is not a local folder")
    modules = _read(path / "modules.json")
    types = [m.get("type") for m in modules]
    if types[:2] != [_TRANSFORMER, _POOLING] or any(t != _NORMALIZE for t in types[2:]):
        raise UnsupportedModel(f"modules {types} are not transformer + pooling (+ normalize)")
    if modules[0].get("path"):
        raise UnsupportedModel("the transformer is not at the folder's top level")
    if not (path / "tokenizer.json").is_file():
        raise UnsupportedModel("no tokenizer.json (a fast tokenizer) in the folder")
    st_config = _read(path / "sentence_bert_config.json")
    config = _read(path / "config.json")
    return StFolder(
        path=path,
        name=model_name(model),
        max_seq_length=int(st_config["max_seq_length"]),
        pooling=_pooling(path, modules),
        hidden_size=int(config["hidden_size"]),
    )
