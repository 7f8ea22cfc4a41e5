"""ONNX graphs of a sentence-transformers model, exported once from its own weights and cached.

The usual exporter (`optimum`) pulls a transformers release that breaks sentence-transformers,
so the transformer is exported with `torch.onnx.export` directly: no network, no new
dependency. Graphs live in `<cache_dir>/onnx-<key>/`, the key covering the weights, the
exporter and ONNX Runtime versions and this recipe, so an upgrade of any of them exports anew.
"""

from __future__ import annotations

import hashlib
import logging
import os
import warnings
from pathlib import Path
from typing import Any

from core.embeddings.st_folder import StFolder

logger = logging.getLogger(__name__)

RECIPE = 2  # bump when the export or quantisation recipe changes
OPSET = 17
FP32 = "model.onnx"
INT8 = "model-int8.onnx"


def graph_folder(model: StFolder, cache_dir: Path) -> Path:
    """The cache folder for this model under this exporter and runtime.

    Named by content, not by path: the same weights in another folder reuse the graphs.
    """
    import onnxruntime
    import torch

    key = f"{model.weights_digest()} torch {torch.__version__} ort {onnxruntime.__version__}"
    key += f" opset {OPSET} recipe {RECIPE}"
    return cache_dir / f"onnx-{hashlib.sha256(key.encode()).hexdigest()[:20]}"


def _replace(tmp: Path, final: Path) -> None:
    """Publish a finished file atomically: readers see the whole graph or none."""
    os.replace(tmp, final)


def export_fp32(model: StFolder, folder: Path) -> Path:
    """The transformer's last hidden state as an ONNX graph with dynamic batch and length."""
    target = folder / FP32
    if target.is_file():
        return target
    folder.mkdir(parents=True, exist_ok=True)
    import torch

    from core.embeddings.torch_backend import load_sentence_transformer

    st: Any = load_sentence_transformer(str(model.path), "cpu")
    transformer: Any = st[0].auto_model.eval()
    texts = ["a short text", "and a slightly longer one"]
    sample = st.tokenizer(texts, padding=True, return_tensors="pt")
    names = [n for n in ("input_ids", "attention_mask", "token_type_ids") if n in sample]

    class LastHiddenState(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.transformer = transformer

        def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
            output: torch.Tensor = self.transformer(**dict(zip(names, inputs, strict=True)))[0]
            return output

    axes = {name: {0: "batch", 1: "tokens"} for name in [*names, "last_hidden_state"]}
    tmp = folder / f".{FP32}.{os.getpid()}.tmp"
    logger.info("exporting %s to ONNX (once; cached in %s)", model.name, folder)
    with warnings.catch_warnings(), torch.no_grad():
        # The TorchScript exporter is deprecated in favour of the dynamo one, which needs
        # onnxscript; it traces BERT-style encoders exactly (checked against torch below).
        warnings.simplefilter("ignore")
        torch.onnx.export(
            LastHiddenState(), tuple(sample[n] for n in names), str(tmp),
            input_names=names, output_names=["last_hidden_state"], dynamic_axes=axes,
            opset_version=OPSET, dynamo=False,
        )  # fmt: skip
    _replace(tmp, target)
    return target


def _down_projections(fp32: Path) -> list[str]:
    """MatMuls whose constant weight shrinks the width (the feed-forward output projections).

    Their inputs come out of GELU with large outliers; in int8 they cost the most accuracy
    (cosine to torch 0.96 on a long Chinese text with them, 0.99 without).
    """
    import onnx

    graph = onnx.load(str(fp32), load_external_data=False).graph
    shapes = {init.name: list(init.dims) for init in graph.initializer}
    return [
        node.name
        for node in graph.node
        if node.op_type == "MatMul"
        and len(shape := shapes.get(node.input[1], [])) == 2
        and shape[0] > shape[1]
    ]


def quantise_int8(fp32: Path) -> Path:
    """Dynamic int8 weights, per output channel, on MatMul only, feed-forward outputs kept fp32.

    Per-tensor scales drift to cosine 0.94 on this model. `reduce_range` (7-bit weights)
    avoids the saturation of AVX2's u8*s8 multiply-add on CPUs without VNNI, which otherwise
    costs another ~0.01 of cosine. Attention score MatMuls have no constant weight and stay
    fp32 (`MatMulConstBOnly`).
    """
    target = fp32.with_name(INT8)
    if target.is_file():
        return target
    from onnxruntime.quantization import QuantType, quantize_dynamic

    tmp = target.with_name(f".{INT8}.{os.getpid()}.tmp")
    root = logging.getLogger()
    root.disabled, was = True, root.disabled
    try:  # quantize_dynamic logs a "consider pre-processing" warning on the root logger
        quantize_dynamic(
            fp32, tmp, per_channel=True, reduce_range=True, op_types_to_quantize=["MatMul"],
            weight_type=QuantType.QInt8, nodes_to_exclude=_down_projections(fp32),
            extra_options={"MatMulConstBOnly": True},
        )  # fmt: skip
    finally:
        root.disabled = was
    _replace(tmp, target)
    return target
