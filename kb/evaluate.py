"""`kb eval`: a BEIR folder through the real ingestion and retrieval code, scored per mode."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from rich.console import Console
from rich.progress import Progress

from ingest.runtime import IngestRuntime
from ingest.settings import IngestSettings
from kb.progress import BarProgress
from retrieval.baseline import WhitespaceBm25
from retrieval.beir import BeirSet, ndcg_at_k, recall_at_k
from retrieval.hybrid import HybridRetriever
from retrieval.protocol import Mode
from retrieval.settings import RetrievalSettings

CANDIDATE_CHUNKS = 200  # enough chunks to rank 100 distinct documents
WHITESPACE = "sparse-whitespace"


@dataclass(frozen=True)
class Scores:
    """Mean metrics over the judged queries of one run."""

    ndcg_10: float
    recall_10: float
    recall_100: float


def _file_name(doc_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", doc_id) + ".txt"


async def index_corpus(runtime: IngestRuntime, kb: str, beir: BeirSet, console: Console) -> None:
    """Write each record as a text file (title, blank line, text) and ingest it."""
    folder = runtime.settings.data_dir / "corpus"
    folder.mkdir(parents=True, exist_ok=True)
    if kb not in runtime.registry.kb_names():
        runtime.registry.create_kb(kb)
    with BarProgress(console, len(beir.corpus)) as bar:
        for doc_id, (title, text) in beir.corpus.items():
            path = folder / _file_name(doc_id)
            if not path.exists():
                path.write_text(f"{title}\n\n{text}" if title else text, encoding="utf-8")
            await runtime.ingestor.ingest(kb, path, path.name, bar)


def score(runs: dict[str, list[str]], beir: BeirSet) -> Scores:
    """Average nDCG@10, recall@10 and recall@100 over the queries."""
    n = len(runs) or 1
    return Scores(
        sum(ndcg_at_k(r, beir.qrels[q], 10) for q, r in runs.items()) / n,
        sum(recall_at_k(r, beir.qrels[q], 10) for q, r in runs.items()) / n,
        sum(recall_at_k(r, beir.qrels[q], 100) for q, r in runs.items()) / n,
    )


async def rank(
    retriever: HybridRetriever, kb: str, beir: BeirSet, mode: Mode, ids: dict[str, str],
    progress: Progress,
) -> dict[str, list[str]]:  # fmt: skip
    """Document ids per query, best first, from chunk hits."""
    task = progress.add_task(mode.value, total=len(beir.queries))
    runs: dict[str, list[str]] = {}
    for qid, query in beir.queries.items():
        hits = await retriever.retrieve(query, [kb], top_k=CANDIDATE_CHUNKS, mode=mode)
        runs[qid] = list(dict.fromkeys(ids[hit.source] for hit in hits))[:100]
        progress.advance(task)
    return runs


async def whitespace_runs(
    runtime: IngestRuntime, kb: str, beir: BeirSet, ids: dict[str, str]
) -> dict[str, list[str]]:
    """The baseline: plain BM25 on whitespace tokens over the very same chunks."""
    chunks = await runtime.store.scroll(runtime.ingestor.visible([kb]), limit=10_000_000)
    bm25 = WhitespaceBm25([(ids[c.payload["source"]], c.payload["text"]) for c in chunks])
    return {qid: bm25.search(query, 100) for qid, query in beir.queries.items()}


async def run_eval(
    settings: IngestSettings, retrieval: RetrievalSettings, beir: BeirSet,
    modes: Sequence[Mode], console: Console, *, whitespace: bool = False,
) -> dict[str, Scores]:  # fmt: skip
    """Index (reusing an earlier run's data folder), then score every mode on the same index."""
    runtime = await IngestRuntime.open(settings)
    try:
        kb = "eval-" + re.sub(r"[^A-Za-z0-9_.-]", "-", beir.name)[:50]
        await index_corpus(runtime, kb, beir, console)
        await runtime.purger.purge(grace_s=0)
        ids = {_file_name(doc_id): doc_id for doc_id in beir.corpus}
        retriever = HybridRetriever(
            store=runtime.store, embedder=runtime.embedder, sparse=runtime.sparse,
            visibility=runtime.registry.visibility, settings=retrieval,
        )  # fmt: skip
        results: dict[str, Scores] = {}
        with Progress(console=console) as progress:
            for mode in modes:
                results[mode.value] = score(
                    await rank(retriever, kb, beir, mode, ids, progress), beir
                )
        if whitespace:
            results[WHITESPACE] = score(await whitespace_runs(runtime, kb, beir, ids), beir)
        return results
    finally:
        await runtime.close()
