"""Extractive answers on FinanceBench: evidence-page hits and time, per pre-selection size.

Run by hand from the repository root (minutes: the filings are ingested first):

    HF_HUB_OFFLINE=1 .venv/bin/python bench/extractive.py [--filings 8] [--candidates 0 8 16]

The `--filings` smallest FinanceBench filings that have questions are ingested into one
knowledge base (in-process, Qdrant Edge, the configured embedder); every question on them is
retrieved once (hybrid, the chat's passage count), then answered extractively from the same
passages with each pre-selection size (0 embeds every sentence, as before pre-selection), the
sizes interleaved question by question so that load from other jobs hits all alike. Reported
per size: questions whose answer cites an evidence page of the question's own filing, answers
identical to embedding every sentence, sentences embedded per answer (what the time depends
on, whatever the load), and the time of the extractive step alone (sentence
split, BM25, embedding, ranking) with no sentence cache, then again with a warm cache.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from bench.ingest import configured_embedder, machine  # noqa: E402
from bench.query import retriever_over  # noqa: E402
from core.embeddings import Embedder  # noqa: E402
from ingest.outcome import NullProgress  # noqa: E402
from retrieval.protocol import Hit  # noqa: E402
from serving.chat.extractive import Extract, ExtractiveAnswerer  # noqa: E402
from serving.chat.sources import source_text  # noqa: E402
from serving.settings import ChatSettings  # noqa: E402
from tests.support.runtime import open_runtime  # noqa: E402

FINANCEBENCH = ROOT.parent / "shared" / "eval" / "docqa" / "financebench_subset"
KB = "filings"


def pick(filings: int) -> tuple[list[Path], list[dict[str, Any]]]:
    """The `filings` smallest filings that have questions, and their questions."""
    lines = (FINANCEBENCH / "financebench_subset_questions.jsonl").read_text().splitlines()
    questions = [json.loads(line) for line in lines]
    pdfs = sorted(
        {FINANCEBENCH / "pdfs" / f"{q['doc_name']}.pdf" for q in questions},
        key=lambda p: p.stat().st_size,
    )[:filings]
    names = {p.stem for p in pdfs}
    return pdfs, [q for q in questions if q["doc_name"] in names]


def cites_evidence(question: dict[str, Any], hits: list[Hit], extracts: list[Extract]) -> bool:
    source = f"{question['doc_name']}.pdf"
    evidence = {e["evidence_page_num"] + 1 for e in question["evidence"]}
    cited = {hits[e.passage - 1].page for e in extracts if hits[e.passage - 1].source == source}
    return bool(cited & evidence)


def same_sentences(a: list[Extract], b: list[Extract]) -> bool:
    return [(e.passage, e.sentence) for e in a] == [(e.passage, e.sentence) for e in b]


def make_answerer(embedder: Embedder, chat: ChatSettings, candidates: int) -> ExtractiveAnswerer:
    return ExtractiveAnswerer(
        embedder,
        sentences=chat.extractive_sentences,
        min_similarity=chat.extractive_min_similarity,
        candidates=candidates,
        cache_size=100_000,
    )


def summary(ms: list[float]) -> str:
    ms = sorted(ms)
    p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))]
    return f"p50 {statistics.median(ms):7.1f} ms  p99 {p99:7.1f} ms"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--filings", type=int, default=8)
    parser.add_argument("--candidates", type=int, nargs="+", default=[0, 6, 8, 12, 16])
    args = parser.parse_args()
    if not FINANCEBENCH.is_dir():
        sys.exit(f"FinanceBench not found at {FINANCEBENCH}")
    print("machine:", ", ".join(f"{k}={v}" for k, v in machine().items()))
    embedder = configured_embedder()
    chat = ChatSettings()
    pdfs, questions = pick(args.filings)
    with tempfile.TemporaryDirectory() as tmp:
        runtime = await open_runtime(Path(tmp) / "data", embedder)
        runtime.registry.create_kb(KB)
        started = time.perf_counter()
        pages = chunks = 0
        for pdf in pdfs:
            result = await runtime.ingestor.ingest(KB, pdf, pdf.name, NullProgress())
            pages, chunks = pages + result.pages, chunks + result.chunks
        await runtime.ingestor.optimize()
        took = time.perf_counter() - started
        print(f"{len(pdfs)} filings, {pages} pages, {chunks} chunks ingested in {took:.0f} s;")
        print(f"{len(questions)} questions, {chat.passages} passages each")
        retriever = retriever_over(runtime.store, embedder, frozenset({KB}))
        hits = [
            await retriever.retrieve(q["question"], [KB], top_k=chat.passages) for q in questions
        ]
        await runtime.close()
    answerers = {k: make_answerer(embedder, chat, k) for k in args.candidates}
    results: dict[int, list[list[Extract]]] = {k: [] for k in answerers}
    embedded: dict[int, list[int]] = {k: [] for k in answerers}  # sentences per cold answer
    cold: dict[int, list[float]] = {k: [] for k in answerers}
    warm: dict[int, list[float]] = {k: [] for k in answerers}
    for question, found in zip(questions, hits, strict=True):
        texts = [source_text(h, with_context=False) for h in found]
        for times in (cold, warm):
            for k, answerer in answerers.items():
                if times is cold:
                    answerer.vectors.clear()
                before = answerer.vectors.embedded
                begun = time.perf_counter()
                extracts = await answerer.extracts(question["question"], texts)
                times[k].append((time.perf_counter() - begun) * 1000)
                if times is cold:
                    results[k].append(extracts)
                    embedded[k].append(answerer.vectors.embedded - before)
    full = results.get(0)
    print(
        f"\n{'candidates':>10} | evidence page cited | same answer as all"
        " | sentences embedded per answer (mean) | cold | warm cache"
    )
    for k in answerers:
        cited = sum(cites_evidence(*a) for a in zip(questions, hits, results[k], strict=True))
        same = "-" if full is None else str(sum(map(same_sentences, full, results[k])))
        label = "all" if k == 0 else str(k)
        print(
            f"{label:>10} | {cited:>2} of {len(questions)}{'':>11} | {same:>6} of {len(questions)}"
            f"{'':>6} | {statistics.mean(embedded[k]):6.1f} | {summary(cold[k])}"
            f" | {summary(warm[k])}"
        )


if __name__ == "__main__":
    asyncio.run(main())
