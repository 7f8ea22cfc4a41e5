"""BM25 quality of each tokenizer and indexing choice on a BEIR set, in memory, in seconds.

What `kb eval`'s sparse mode does, without the store: the same chunks (the real chunker, sized
in the bundled model's tokens), the same document weights (`Bm25Encoder.document`), Qdrant's
IDF (ln(1 + (N - n + 0.5) / (n + 0.5)) over chunks) and a document ranked by its best chunk.
Each variant changes one thing, to find out where the distance to whole-passage BM25 comes from.
Run by hand from the repository root:

    HF_HUB_OFFLINE=1 .venv/bin/python bench/sparse_eval.py \
        ../shared/eval/beir_zh/cmrc2018-dev-retrieval
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402

from core.embeddings import open_embedder  # noqa: E402
from core.sparse import Bm25Encoder, LegacyTokenizer, MixedTokenizer  # noqa: E402
from ingest.chunker import Chunker  # noqa: E402
from ingest.document import Page, ParsedDocument  # noqa: E402
from ingest.settings import IngestSettings  # noqa: E402
from retrieval.beir import BeirSet, load_beir, ndcg_at_k, recall_at_k  # noqa: E402


def bm25_runs(
    encoder: Bm25Encoder, units: list[tuple[str, str]], queries: dict[str, str]
) -> dict[str, list[str]]:
    """Doc ids per query, best first (100), each doc scored by its best unit."""
    lists: dict[str, tuple[list[int], list[float]]] = {}
    for i, (_, text) in enumerate(units):
        counts = Counter(encoder.tokens(text))
        norm = encoder.k1 * (1 - encoder.b + encoder.b * sum(counts.values()) / encoder.avg_len)
        for token, tf in counts.items():
            found = lists.setdefault(token, ([], []))
            found[0].append(i)
            found[1].append(tf * (encoder.k1 + 1) / (tf + norm))
    postings = {t: (np.array(ids), np.array(ws)) for t, (ids, ws) in lists.items()}
    n = len(units)
    docs = sorted({doc for doc, _ in units})
    position = {doc: j for j, doc in enumerate(docs)}
    doc_of = np.array([position[doc] for doc, _ in units])
    runs = {}
    for qid, query in queries.items():
        scores = np.zeros(n)
        for token in set(encoder.tokens(query)):
            if token in postings:
                ids, weights = postings[token]
                scores[ids] += math.log(1 + (n - len(ids) + 0.5) / (len(ids) + 0.5)) * weights
        best = np.full(len(docs), -1.0)
        np.maximum.at(best, doc_of, scores)
        order = np.argsort(-best, kind="stable")[:100]
        runs[qid] = [docs[j] for j in order if best[j] > 0]
    return runs


def report(label: str, runs: dict[str, list[str]], beir: BeirSet) -> None:
    n = len(runs)
    ndcg = sum(ndcg_at_k(r, beir.qrels[q], 10) for q, r in runs.items()) / n
    r10 = sum(recall_at_k(r, beir.qrels[q], 10) for q, r in runs.items()) / n
    r100 = sum(recall_at_k(r, beir.qrels[q], 100) for q, r in runs.items()) / n
    print(f"| {label} | {ndcg:.3f} | {r10:.3f} | {r100:.3f} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--split", default="test")
    args = parser.parse_args()
    beir = load_beir(args.folder, args.split)
    settings = IngestSettings()
    embedder = open_embedder(settings.embedding, settings.models_dir)
    chunker = Chunker(
        embedder.token_spans, min(settings.chunk.max_tokens, embedder.max_tokens),
        settings.chunk.overlap_tokens,
    )  # fmt: skip
    passages, chunks, titled = [], [], []
    for doc_id, (title, text) in beir.corpus.items():
        whole = f"{title}\n\n{text}" if title else text
        passages.append((doc_id, whole))
        for chunk in chunker.chunk(ParsedDocument(doc_id, [Page(1, whole)])):
            chunks.append((doc_id, chunk.text))
            titled.append((doc_id, f"{title}\n{chunk.text}" if chunk.char_start else chunk.text))
    print(
        f"{beir.name}: {len(passages)} passages, {len(chunks)} chunks, {len(beir.queries)} queries"
    )
    print("| variant | nDCG@10 | recall@10 | recall@100 |\n|---|---|---|---|")
    legacy, mixed = LegacyTokenizer(stem=True), MixedTokenizer()
    mean = sum(len(mixed.tokens(t)) for _, t in chunks) / len(chunks)
    started = time.perf_counter()
    variants = [
        ("bm25-cjk-2, chunks (today)", Bm25Encoder(legacy), chunks),
        ("bm25-cjk-2, whole passages", Bm25Encoder(legacy), passages),
        ("bm25-mixed-3, chunks", Bm25Encoder(mixed), chunks),
        ("bm25-mixed-3, whole passages", Bm25Encoder(mixed), passages),
        (f"bm25-mixed-3, chunks, avg_len {mean:.0f}", Bm25Encoder(mixed, avg_len=mean), chunks),
        ("bm25-mixed-3, chunks + document title", Bm25Encoder(mixed), titled),
    ]
    for label, encoder, units in variants:
        report(label, bm25_runs(encoder, units, beir.queries), beir)
    print(f"({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
