import math

import pytest

from core.errors import InvalidRequest
from retrieval.beir import load_beir, ndcg_at_k, recall_at_k


def test_ndcg_matches_the_textbook_values():
    assert ndcg_at_k(["a", "b"], {"a": 1}) == 1.0
    assert math.isclose(ndcg_at_k(["x", "a"], {"a": 1}), 1 / math.log2(3))
    assert ndcg_at_k(["x", "y"], {"a": 1}) == 0.0
    # Two relevant, one found at rank 1: DCG 1, IDCG 1 + 1/log2(3).
    assert math.isclose(ndcg_at_k(["a", "x"], {"a": 1, "b": 1}), 1 / (1 + 1 / math.log2(3)))


def test_recall_counts_relevant_documents_in_the_top_k():
    assert recall_at_k(["a", "x", "b"], {"a": 1, "b": 1}, 2) == 0.5
    assert recall_at_k(["a", "x", "b"], {"a": 1, "b": 1}, 3) == 1.0


def test_load_beir_keeps_judged_queries(tmp_path):
    (tmp_path / "qrels").mkdir()
    (tmp_path / "corpus.jsonl").write_text(
        '{"_id": "d1", "title": "T", "text": "one"}\n{"_id": "d2", "title": "", "text": "two"}\n'
    )
    (tmp_path / "queries.jsonl").write_text(
        '{"_id": "q1", "text": "first"}\n{"_id": "q2", "text": "x"}\n'
    )
    (tmp_path / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td2\t1\n")
    beir = load_beir(tmp_path)
    assert beir.corpus == {"d1": ("T", "one"), "d2": ("", "two")}
    assert beir.queries == {"q1": "first"}
    assert beir.qrels == {"q1": {"d2": 1}}
    with pytest.raises(InvalidRequest, match="not a BEIR folder"):
        load_beir(tmp_path / "nope")
