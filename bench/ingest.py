"""Ingestion benchmark: parse, embed and end-to-end throughput on the shared eval corpora.

Run by hand from the repository root:

    HF_HUB_OFFLINE=1 .venv/bin/python bench/ingest.py [--limit N] [--out results.json]

Corpus A is every file under /work/shared/eval/documents (manifests and expected-text files
skipped); corpus B is the SciFact corpus written out as one .txt file per record. Both are
ingested through the real runtime (Qdrant Edge in a fresh temporary data folder, the bundled
model, no Tika), sharing one loaded embedding model.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import logging
import os
import platform
import resource
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

# The repository root, so that `python bench/ingest.py` finds the project's packages.
ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from core.embeddings import Embedder, open_embedder  # noqa: E402
from core.errors import DocumentError  # noqa: E402
from ingest.outcome import FileResult, Outcome  # noqa: E402
from ingest.parsers.select import ParserSet  # noqa: E402
from ingest.runtime import IngestRuntime  # noqa: E402
from ingest.settings import IngestSettings  # noqa: E402

EVAL = Path("/work/shared/eval")
DOCUMENTS = EVAL / "documents"
SCIFACT = EVAL / "beir" / "scifact" / "corpus.jsonl"
EMBED_BATCH = 64
THREAD_SAMPLE = 512
THREAD_ROUNDS = 2
KB = "bench"


# -- measuring helpers ---------------------------------------------------------------------
class RecordingEmbedder:
    """Delegates to a real embedder, keeping every text it embeds and the time it took."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.name = inner.name
        self.dimension = inner.dimension
        self.max_tokens = inner.max_tokens
        self.texts: list[str] = []
        self.seconds = 0.0

    def token_spans(self, text: str) -> list[tuple[int, int]]:
        return self.inner.token_spans(text)

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        start = time.perf_counter()
        vectors = self.inner.embed_documents(texts)
        self.seconds += time.perf_counter() - start
        self.texts.extend(texts)
        return vectors

    def embed_query(self, text: str) -> list[float]:
        return self.inner.embed_query(text)

    def reset(self) -> None:
        self.texts = []
        self.seconds = 0.0


class TimingSink:
    """A ProgressSink that times each file's parse and embed+store phases."""

    def __init__(self) -> None:
        self._started: dict[str, float] = {}
        self._parsed: dict[str, float] = {}
        self.parse_s: dict[str, float] = {}
        self.embed_store_s: dict[str, float] = {}

    def file_started(self, name: str, size_bytes: int) -> None:
        self._started[name] = time.perf_counter()

    def pages_parsed(self, name: str, pages: int) -> None:
        now = time.perf_counter()
        self._parsed[name] = now
        self.parse_s[name] = now - self._started.get(name, now)

    def chunks_embedded(self, name: str, count: int) -> None:
        pass

    def file_finished(self, result: FileResult) -> None:
        parsed = self._parsed.pop(result.name, None)
        if parsed is not None:
            self.embed_store_s[result.name] = time.perf_counter() - parsed
        self._started.pop(result.name, None)


@dataclass
class ParseStats:
    files: int = 0
    ok: int = 0
    pages: int = 0
    chars: int = 0
    seconds: float = 0.0
    failed: dict[str, int] = field(default_factory=dict)
    slowest: list[tuple[str, float]] = field(default_factory=list)


@dataclass
class IngestStats:
    corpus: str
    files: int = 0
    wall_s: float = 0.0
    pages: int = 0
    chunks: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    failed_reasons: dict[str, int] = field(default_factory=dict)
    embed_store_s: float = 0.0
    embed_in_ingest_s: float = 0.0
    embed_only_chunks: int = 0
    embed_only_s: float = 0.0
    peak_rss_mib: float = 0.0
    slowest: list[tuple[str, float]] = field(default_factory=list)
    unexpected: list[tuple[str, str]] = field(default_factory=list)


def peak_rss_mib() -> float:
    """Peak resident set size of this process so far (ru_maxrss is KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rate(count: float, seconds: float) -> float:
    return count / seconds if seconds > 0 else 0.0


def line(what: str, count: float, unit: str, seconds: float) -> str:
    per = unit.split()[-1]
    return f"{what}: {count:g} {unit} in {seconds:.1f} s = {rate(count, seconds):.1f} {per}/s"


# -- corpora -------------------------------------------------------------------------------
def corpus_a(limit: int | None) -> list[tuple[Path, str]]:
    """Every eval document, named by its path under the documents folder; `limit` spreads."""
    files = sorted(
        p
        for p in DOCUMENTS.rglob("*")
        if p.is_file()
        and not p.name.startswith("manifest.")
        and not p.name.endswith(".expected.txt")
    )
    pairs = [(p, p.relative_to(DOCUMENTS).as_posix()) for p in files]
    if limit is None or limit >= len(pairs):
        return pairs
    # Evenly spaced, so that a quick run still sees every category (they sort by folder).
    return [pairs[i * len(pairs) // limit] for i in range(limit)]


def corpus_b(folder: Path, limit: int | None) -> list[tuple[Path, str]]:
    """SciFact records written as `<_id>.txt`: title, a blank line, then the abstract."""
    pairs: list[tuple[Path, str]] = []
    with SCIFACT.open(encoding="utf-8") as handle:
        for raw in handle:
            if limit is not None and len(pairs) >= limit:
                break
            if not raw.strip():
                continue
            record: dict[str, Any] = json.loads(raw)
            name = f"{record['_id']}.txt"
            path = folder / name
            path.write_text(f"{record.get('title', '')}\n\n{record.get('text', '')}", "utf-8")
            pairs.append((path, name))
    return pairs


# -- passes --------------------------------------------------------------------------------
def bench_settings(data_dir: Path) -> IngestSettings:
    """The embedded default, whatever the environment says: Qdrant Edge, no Tika."""
    settings = IngestSettings(data_dir=data_dir)
    settings.tika.url = None
    settings.tika.for_all = False
    settings.store.qdrant_url = None
    return settings


async def parse_pass(files: list[tuple[Path, str]], settings: IngestSettings) -> ParseStats:
    """Time only the ParserSet.parse calls; pages count for successful parses."""
    parsers = ParserSet.from_settings(settings)
    stats = ParseStats(files=len(files))
    failed: Counter[str] = Counter()
    times: list[tuple[str, float]] = []
    try:
        for path, source in files:
            start = time.perf_counter()
            try:
                document = await parsers.parse(path, source)
            except DocumentError as exc:
                elapsed = time.perf_counter() - start
                failed[exc.reason] += 1
            except Exception as exc:
                elapsed = time.perf_counter() - start
                failed[f"error:{type(exc).__name__}"] += 1
            else:
                elapsed = time.perf_counter() - start
                stats.ok += 1
                stats.pages += document.page_count
                stats.chars += document.char_count
            stats.seconds += elapsed
            times.append((source, elapsed))
    finally:
        await parsers.aclose()
    stats.failed = dict(failed.most_common())
    stats.slowest = sorted(times, key=lambda t: t[1], reverse=True)[:5]
    return stats


async def ingest_pass(
    corpus: str, files: list[tuple[Path, str]], data_dir: Path, embedder: RecordingEmbedder
) -> IngestStats:
    """Ingest every file through the real runtime in a fresh data folder."""
    runtime = await IngestRuntime.open(bench_settings(data_dir), embedder=embedder)
    stats = IngestStats(corpus=corpus, files=len(files))
    sink = TimingSink()
    outcomes: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    times: list[tuple[str, float]] = []
    embedder.reset()
    try:
        runtime.registry.create_kb(KB)
        loop_start = time.perf_counter()
        for path, source in files:
            start = time.perf_counter()
            result = await runtime.ingestor.ingest(KB, path, source, sink)
            times.append((source, time.perf_counter() - start))
            outcomes[result.outcome.value] += 1
            stats.pages += result.pages
            stats.chunks += result.chunks
            if result.outcome is Outcome.FAILED:
                reasons[result.reason or "unknown"] += 1
                if result.reason == "error":
                    stats.unexpected.append((source, result.message or ""))
        stats.wall_s = time.perf_counter() - loop_start
    finally:
        await runtime.close()
    stats.outcomes = dict(outcomes.most_common())
    stats.failed_reasons = dict(reasons.most_common())
    stats.embed_store_s = sum(sink.embed_store_s.values())
    stats.embed_in_ingest_s = embedder.seconds
    stats.slowest = sorted(times, key=lambda t: t[1], reverse=True)[:5]
    stats.peak_rss_mib = peak_rss_mib()
    return stats


def embed_only(embedder: Embedder, texts: Sequence[str]) -> float:
    """Seconds to embed `texts` in batches of EMBED_BATCH, nothing else."""
    start = time.perf_counter()
    for i in range(0, len(texts), EMBED_BATCH):
        embedder.embed_documents(texts[i : i + EMBED_BATCH])
    return time.perf_counter() - start


def thread_comparison(embedder: Embedder, texts: Sequence[str]) -> dict[str, float]:
    """Embedding-only chunks/s on one sample with torch's default, 2 and 1 threads.

    The settings alternate for THREAD_ROUNDS rounds and the best round of each counts, so that
    load from other processes on a shared machine biases no setting in particular.
    """
    import torch

    default = torch.get_num_threads()
    sample = list(texts[:THREAD_SAMPLE])
    figures: dict[str, float] = {}
    if not sample:
        return figures
    embed_only(embedder, sample[:EMBED_BATCH])  # warm-up
    try:
        for _ in range(THREAD_ROUNDS):
            for label, threads in ((f"default ({default})", default), ("2", 2), ("1", 1)):
                torch.set_num_threads(threads)
                value = rate(len(sample), embed_only(embedder, sample))
                figures[label] = max(figures.get(label, 0.0), value)
    finally:
        torch.set_num_threads(default)
    figures["sample_chunks"] = float(len(sample))
    return figures


def load() -> str:
    """The 1-minute load average against the CPU count: others' work skews every figure."""
    return f"load {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"


def configured_embedder() -> Embedder:
    """The model and engine that KB_EMBEDDING__* choose, graphs cached in the data folder."""
    settings = IngestSettings()
    return open_embedder(settings.embedding, settings.models_dir)


# -- machine and report --------------------------------------------------------------------
def machine() -> dict[str, Any]:
    import sentence_transformers
    import torch

    model = "unknown"
    mem_kib = 0
    try:
        for raw in Path("/proc/cpuinfo").read_text().splitlines():
            if raw.startswith("model name"):
                model = raw.split(":", 1)[1].strip()
                break
        for raw in Path("/proc/meminfo").read_text().splitlines():
            if raw.startswith("MemTotal:"):
                mem_kib = int(raw.split()[1])
                break
    except OSError:
        pass
    return {
        "cpu_count": os.cpu_count(),
        "cpu_affinity": len(os.sched_getaffinity(0)),
        "cpu_model": model,
        "ram_gib": round(mem_kib / 2**20, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "cuda": torch.cuda.is_available(),
        "sentence_transformers": sentence_transformers.__version__,
    }


def print_parse(stats: ParseStats) -> None:
    print(f"  files: {stats.files} ({stats.ok} parsed, failed by reason: {stats.failed or '-'})")
    print("  " + line("parse", stats.pages, "pages", stats.seconds))
    print(f"  parse: {stats.ok} files in {stats.seconds:.1f} s = "
          f"{rate(stats.ok, stats.seconds):.1f} files/s, {stats.chars:,} chars")  # fmt: skip
    print("  slowest parses: " + ", ".join(f"{n} {s:.2f} s" for n, s in stats.slowest))


def print_ingest(stats: IngestStats) -> None:
    print(f"  outcomes: {stats.outcomes}; failed by reason: {stats.failed_reasons or '-'}")
    print("  " + line("end-to-end", stats.files, "documents", stats.wall_s))
    print(f"  pages: {stats.pages}, chunks: {stats.chunks}")
    print("  " + line("ingest chunks (total wall)", stats.chunks, "chunks", stats.wall_s))
    print("  " + line("ingest chunks (embed+store window)", stats.chunks, "chunks",
                      stats.embed_store_s))  # fmt: skip
    print("  " + line("embed calls inside ingestion", stats.chunks, "chunks",
                      stats.embed_in_ingest_s))  # fmt: skip
    print("  " + line("embedding-only (batches of 64)", stats.embed_only_chunks, "chunks",
                      stats.embed_only_s))  # fmt: skip
    print(f"  peak RSS: {stats.peak_rss_mib:.0f} MiB; {load()}")
    print("  slowest files: " + ", ".join(f"{n} {s:.2f} s" for n, s in stats.slowest))
    for name, message in stats.unexpected:
        print(f"  UNEXPECTED failure {name}: {message}")


async def run(limit: int | None, documents_only: bool = False) -> dict[str, Any] | None:
    if not DOCUMENTS.is_dir() or not SCIFACT.is_file():
        print(f"eval data missing: need {DOCUMENTS} and {SCIFACT}", file=sys.stderr)
        return None
    total_start = time.perf_counter()
    info = machine()
    print("machine: " + ", ".join(f"{k}={v}" for k, v in info.items()))
    load_start = time.perf_counter()
    model = configured_embedder()
    embedder = RecordingEmbedder(model)
    print(f"model {model.name} loaded in {time.perf_counter() - load_start:.1f} s, "
          f"RSS peak {peak_rss_mib():.0f} MiB")  # fmt: skip
    results: dict[str, Any] = {"machine": info, "limit": limit}
    with tempfile.TemporaryDirectory(prefix="kb-bench-") as tmp:
        root = Path(tmp)
        files_a = corpus_a(limit)
        print(f"\n== corpus A: {len(files_a)} files under {DOCUMENTS} ({load()})")
        parse_stats = await parse_pass(files_a, bench_settings(root / "parse-only"))
        print_parse(parse_stats)
        a = await ingest_pass("A", files_a, root / "data-a", embedder)
        texts_a = list(embedder.texts)
        a.embed_only_chunks, a.embed_only_s = len(texts_a), embed_only(model, texts_a)
        a.peak_rss_mib = peak_rss_mib()
        print_ingest(a)
        if documents_only:
            results.update(parse_a=asdict(parse_stats), ingest_a=asdict(a))
            return results

        (root / "scifact").mkdir()
        files_b = corpus_b(root / "scifact", limit)
        print(f"\n== corpus B: {len(files_b)} SciFact records as .txt files ({load()})")
        b = await ingest_pass("B", files_b, root / "data-b", embedder)
        texts_b = list(embedder.texts)
        b.embed_only_chunks, b.embed_only_s = len(texts_b), embed_only(model, texts_b)
        b.peak_rss_mib = peak_rss_mib()
        print_ingest(b)

        print(f"\n== torch threads, embedding-only, {THREAD_SAMPLE} corpus-A chunks ({load()})")
        threads = thread_comparison(model, texts_a or texts_b)
        for label, value in threads.items():
            if label != "sample_chunks":
                print(f"  threads {label}: {value:.1f} chunks/s")

    total = time.perf_counter() - total_start
    print_table(parse_stats, a, b, threads)
    print(f"\ntotal benchmark wall time: {total:.1f} s, peak RSS {peak_rss_mib():.0f} MiB")
    results.update(
        parse_a=asdict(parse_stats), ingest_a=asdict(a), ingest_b=asdict(b),
        threads=threads, total_wall_s=total,
    )  # fmt: skip
    return results


def print_table(
    parse: ParseStats, a: IngestStats, b: IngestStats, threads: dict[str, float]
) -> None:
    rows = [
        ("parse pages/s (A, parse only)", rate(parse.pages, parse.seconds)),
        ("end-to-end documents/s (A)", rate(a.files, a.wall_s)),
        ("ingest chunks/s, total wall (A)", rate(a.chunks, a.wall_s)),
        ("ingest chunks/s, embed+store window (A)", rate(a.chunks, a.embed_store_s)),
        ("embedding-only chunks/s (A)", rate(a.embed_only_chunks, a.embed_only_s)),
        ("end-to-end documents/s (B)", rate(b.files, b.wall_s)),
        ("ingest chunks/s, total wall (B)", rate(b.chunks, b.wall_s)),
        ("ingest chunks/s, embed+store window (B)", rate(b.chunks, b.embed_store_s)),
        ("embedding-only chunks/s (B)", rate(b.embed_only_chunks, b.embed_only_s)),
    ]
    print(f"\n== results ({load()}; threads: best of {THREAD_ROUNDS} rounds)")
    print(f"  {'metric':<46} {'value':>10}")
    for name, value in rows:
        print(f"  {name:<46} {value:>10.1f}")
    for label, value in threads.items():
        if label != "sample_chunks":
            print(f"  {'embedding-only chunks/s, threads ' + label:<46} {value:>10.1f}")
    print(f"  {'files / pages / chunks (A)':<46} {a.files:>5} / {a.pages} / {a.chunks}")
    print(f"  {'files / chunks (B)':<46} {b.files:>5} / {b.chunks}")
    print(f"  {'peak RSS MiB after A / after B':<46} {a.peak_rss_mib:>5.0f} / {b.peak_rss_mib:.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--limit", type=int, default=None, help="at most N files per corpus")
    parser.add_argument("--out", type=Path, default=None, help="write results as JSON here")
    parser.add_argument(
        "--documents-only", action="store_true", help="corpus A only (no SciFact, no threads)"
    )
    args = parser.parse_args()
    # Line by line even into a log file, so that a long run can be followed.
    if isinstance(sys.stdout, io.TextIOWrapper):
        sys.stdout.reconfigure(line_buffering=True)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    results = asyncio.run(run(args.limit, args.documents_only))
    if results is None:
        sys.exit(2)
    if args.out is not None:
        args.out.write_text(json.dumps(results, indent=2), encoding="utf-8")
        print(f"results written to {args.out}")


if __name__ == "__main__":
    main()
