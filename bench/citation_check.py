"""Precision and recall of the citation check on answers with deliberately wrong markers.

Cases, from real evaluation sets (run by hand from the repository root):

    HF_HUB_OFFLINE=1 .venv/bin/python bench/citation_check.py [--per-set 200]

- Chinese (CMRC 2018 dev): the question turned into a statement with its gold answer (the
  question word replaced by the answer: "《战国无双3》是由光荣和ω-force合作开发的"), cited once
  to its own passage (a right marker) and once to the passage BM25 ranks highest among the
  others that do not contain the answer (a wrong marker, on the same subject as often as not).
- English (SciFact test): the claim, cited to an abstract judged relevant to it and to the
  highest-ranked abstract that is not.

A flagged marker is one the check calls unsupported. Precision: the share of flagged markers
that are wrong; recall: the share of wrong markers flagged. Weights and threshold are chosen
on the first half of the cases (grid below, best F1) and reported on the second half.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from bench.sparse_eval import bm25_runs  # noqa: E402
from core.embeddings import open_embedder  # noqa: E402
from core.sparse import Bm25Encoder  # noqa: E402
from ingest.settings import IngestSettings  # noqa: E402
from retrieval.beir import load_beir  # noqa: E402
from serving.chat.support import LEXICAL_WEIGHT, THRESHOLD, SupportChecker  # noqa: E402

EVAL = ROOT.parent / "shared" / "eval"
CMRC = EVAL / "beir_zh" / "cmrc2018-dev-retrieval"
SCIFACT = EVAL / "beir" / "scifact"
_QUESTION_WORD = re.compile(
    r"哪[两三几]?[个家位种年些里]?[^\s，,。？?]{0,2}?(?=[的是在有合]|$)|什么时候|什么|谁|多少|几"
)

Case = tuple[str, str, bool]  # claim, passage, the marker is right


def statement(question: str, answer: str) -> str:
    question = question.rstrip("？?。 ")
    replaced, n = _QUESTION_WORD.subn(answer, question, count=1)
    return replaced if n else f"{question}：{answer}"


def chinese_cases(limit: int) -> list[Case]:
    beir = load_beir(CMRC)
    answers = [json.loads(line) for line in (CMRC / "answers.jsonl").open(encoding="utf-8")]
    answers = [a for a in answers if a["_id"] in beir.queries][:limit]
    texts = {d: f"{t}\n\n{x}" if t else x for d, (t, x) in beir.corpus.items()}
    runs = bm25_runs(Bm25Encoder(), list(texts.items()), {a["_id"]: a["question"] for a in answers})
    cases: list[Case] = []
    for a in answers:
        answer = a["answers"][0]
        wrong = next(
            (d for d in runs[a["_id"]] if d != a["doc_id"] and answer not in texts[d]), None
        )
        if wrong is None:
            continue
        claim = statement(a["question"], answer)
        cases += [(claim, texts[a["doc_id"]], True), (claim, texts[wrong], False)]
    return cases


def english_cases(limit: int) -> list[Case]:
    beir = load_beir(SCIFACT)
    texts = {d: f"{t}\n\n{x}" if t else x for d, (t, x) in beir.corpus.items()}
    queries = dict(list(beir.queries.items())[:limit])
    runs = bm25_runs(Bm25Encoder(), list(texts.items()), queries)
    cases: list[Case] = []
    for qid, claim in queries.items():
        right = next(iter(beir.qrels[qid]))
        wrong = next(d for d in runs[qid] if d not in beir.qrels[qid])
        cases += [(claim, texts[right], True), (claim, texts[wrong], False)]
    return cases


Row = tuple[float, float | None, bool, bool]  # lexical, semantic, no term missing, right


def measure(checker: SupportChecker, cases: list[Case]) -> list[Row]:
    """Lexical and semantic support of each case, computed once for every weight tried."""
    pairs = [(claim, passage) for claim, passage, _ in cases]
    semantic = checker.semantic(pairs)
    return [
        (checker.lexical(c, p), sem, not checker.missing(c, p), right)
        for (c, p, right), sem in zip(cases, semantic, strict=True)
    ]


def precision_recall(rows: list[Row], weight: float, threshold: float) -> tuple[float, float]:
    flagged = []
    for lexical, semantic, terms_ok, right in rows:
        score = lexical if semantic is None else weight * lexical + (1 - weight) * semantic
        if not (terms_ok and score >= threshold):
            flagged.append(right)
    wrong = sum(not row[3] for row in rows)
    true_flags = sum(not right for right in flagged)
    return (true_flags / len(flagged) if flagged else 1.0), (true_flags / wrong if wrong else 1.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--per-set", type=int, default=200, help="Questions or claims per set.")
    args = parser.parse_args()
    settings = IngestSettings()
    embedder = open_embedder(settings.embedding, settings.models_dir)
    sets = {
        "Chinese (CMRC)": chinese_cases(args.per_set),
        "English (SciFact)": english_cases(args.per_set),
    }
    print(f"embedder: {embedder.name}")
    print("| set | check | weight | threshold | precision | recall | cases (wrong) |")
    print("|---|---|---|---|---|---|---|")
    lexical_only, with_model = SupportChecker(), SupportChecker(embedder)
    for name, cases in sets.items():
        half = len(cases) // 2 - (len(cases) // 2) % 2
        for label, checker, weights in (
            ("lexical", lexical_only, [1.0]),
            ("lexical + semantic", with_model, [0.5, 0.6, 0.7, 0.8, 0.9]),
        ):
            rows = measure(checker, cases)
            dev, test = rows[:half], rows[half:]
            best = max(
                (f1(*precision_recall(dev, w, t)), w, t)
                for w in weights
                for t in [x / 20 for x in range(4, 18)]
            )
            _, w, t = best
            p, r = precision_recall(test, w, t)
            wrong = sum(not row[3] for row in test)
            print(
                f"| {name} | {label} | {w} | {t:.2f} | {p:.3f} | {r:.3f} | {len(test)} ({wrong}) |",
                flush=True,
            )
            if label == "lexical + semantic":
                p, r = precision_recall(test, LEXICAL_WEIGHT, THRESHOLD)
                print(
                    f"| {name} | defaults | {LEXICAL_WEIGHT} | {THRESHOLD:.2f} | {p:.3f} | "
                    f"{r:.3f} | {len(test)} ({wrong}) |",
                    flush=True,
                )


def f1(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if p + r else 0.0


if __name__ == "__main__":
    main()
