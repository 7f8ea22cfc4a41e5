"""BEIR-format evaluation sets and the standard metrics (nDCG@k, recall@k)."""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from core.errors import InvalidRequest


@dataclass(frozen=True)
class BeirSet:
    """corpus: id → (title, text); queries: id → text; qrels: query id → {doc id: grade}."""

    name: str
    corpus: dict[str, tuple[str, str]]
    queries: dict[str, str]
    qrels: dict[str, dict[str, int]]


def _jsonl(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def load_beir(folder: Path, split: str = "test") -> BeirSet:
    """Read corpus.jsonl, queries.jsonl and qrels/<split>.tsv; keep judged queries only."""
    paths = [folder / "corpus.jsonl", folder / "queries.jsonl", folder / "qrels" / f"{split}.tsv"]
    if missing := [str(p) for p in paths if not p.is_file()]:
        raise InvalidRequest(f"not a BEIR folder, missing: {', '.join(missing)}")
    corpus = {d["_id"]: (d.get("title", ""), d.get("text", "")) for d in _jsonl(paths[0])}
    qrels: dict[str, dict[str, int]] = {}
    with paths[2].open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            grade = int(row["score"])
            if grade > 0:
                qrels.setdefault(row["query-id"], {})[row["corpus-id"]] = grade
    queries = {q["_id"]: q["text"] for q in _jsonl(paths[1]) if q["_id"] in qrels}
    return BeirSet(folder.name, corpus, queries, {q: qrels[q] for q in queries})


def ndcg_at_k(ranked: Sequence[str], relevant: dict[str, int], k: int = 10) -> float:
    """Normalised discounted cumulative gain with graded relevance (BEIR's definition)."""
    dcg = sum(relevant.get(doc, 0) / math.log2(i + 2) for i, doc in enumerate(ranked[:k]))
    ideal = sorted(relevant.values(), reverse=True)[:k]
    idcg = sum(grade / math.log2(i + 2) for i, grade in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def recall_at_k(ranked: Sequence[str], relevant: dict[str, int], k: int) -> float:
    """Share of the relevant documents found in the top k."""
    return len(set(ranked[:k]) & relevant.keys()) / len(relevant) if relevant else 0.0
