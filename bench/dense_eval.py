"""Dense retrieval quality of each engine and model on a slice of a BEIR set, in memory.

A lighter stand-in for `kb eval` when the machine is too busy to ingest a whole set: the same
passages, queries and judgments, no store. Run by hand from the repository root:

    HF_HUB_OFFLINE=1 .venv/bin/python bench/dense_eval.py cmrc [--queries 300] [--docs 600]

The slice is the first `--queries` judged queries, every document judged for them, and other
documents from the corpus's start up to `--docs`. Each document is cut into pieces of at most
240 of the engine's own tokens (as the chunker sizes chunks, without its sentence rules); a
document's score is its best piece's, as `kb eval` ranks documents by their best chunk. Every
engine sees the same slice, so the differences between engines are the figures to read, not
the absolute nDCG (a slice is easier than the whole corpus).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from bench.embed import ENGINES, SETS, open_engine  # noqa: E402
from bench.ingest import load  # noqa: E402
from retrieval.beir import BeirSet, load_beir, ndcg_at_k, recall_at_k  # noqa: E402

PIECE_TOKENS = 240


def slice_of(beir: BeirSet, queries: int, docs: int) -> tuple[dict[str, str], dict[str, str]]:
    """(query id -> text, doc id -> text) for the slice described in the module docstring."""
    chosen = [q for q in beir.queries if q in beir.qrels][:queries]
    wanted = {d for q in chosen for d in beir.qrels[q]}
    for doc_id in beir.corpus:
        if len(wanted) >= docs:
            break
        wanted.add(doc_id)
    texts = {}
    for doc_id in beir.corpus:
        if doc_id in wanted:
            title, text = beir.corpus[doc_id]
            texts[doc_id] = f"{title}\n\n{text}" if title else text
    return {q: beir.queries[q] for q in chosen}, texts


def pieces(embedder, text: str) -> list[str]:
    spans = embedder.token_spans(text)
    if not spans:
        return [text]
    return [
        text[spans[i][0] : spans[min(i + PIECE_TOKENS, len(spans)) - 1][1]]
        for i in range(0, len(spans), PIECE_TOKENS)
    ]


def evaluate(embedder, queries: dict[str, str], docs: dict[str, str], beir: BeirSet):
    start = time.perf_counter()
    owners, texts = [], []
    for doc_id, text in docs.items():
        for piece in pieces(embedder, text):
            owners.append(doc_id)
            texts.append(piece)
    matrix = np.asarray(embedder.embed_documents(texts), dtype=np.float32)
    ids = list(docs)
    column = {doc_id: i for i, doc_id in enumerate(ids)}
    owner_index = np.array([column[o] for o in owners])
    ndcg = recall = 0.0
    for qid, query in queries.items():
        scores = matrix @ np.asarray(embedder.embed_query(query), dtype=np.float32)
        best = np.full(len(ids), -np.inf, dtype=np.float32)
        np.maximum.at(best, owner_index, scores)
        ranked = [ids[i] for i in np.argsort(-best)[:100]]
        ndcg += ndcg_at_k(ranked, beir.qrels[qid], 10)
        recall += recall_at_k(ranked, beir.qrels[qid], 10)
    n = len(queries)
    return ndcg / n, recall / n, len(texts), time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("set", choices=["scifact", "cmrc"])
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--docs", type=int, default=600)
    parser.add_argument("--engines", nargs="+", default=ENGINES, choices=ENGINES)
    parser.add_argument("--cache", type=Path, default=Path("/tmp/kb-bench-models"))
    args = parser.parse_args()
    beir = load_beir(SETS["en" if args.set == "scifact" else "zh"])
    queries, docs = slice_of(beir, args.queries, args.docs)
    print(f"{beir.name}: {len(queries)} queries, {len(docs)} documents ({load()})")
    print("| engine / model | dense nDCG@10 | recall@10 | pieces | seconds |")
    print("|---|---|---|---|---|")
    for name in args.engines:
        embedder = open_engine(name, args.cache)
        ndcg, recall, count, seconds = evaluate(embedder, queries, docs, beir)
        print(f"| {name} ({embedder.name}) | {ndcg:.3f} | {recall:.3f} | {count} | {seconds:.0f} |")
        sys.stdout.flush()
    print(f"end: {load()}")


if __name__ == "__main__":
    main()
