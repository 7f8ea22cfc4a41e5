"""The citation check: claims found before their markers, scored against the cited passage."""

from __future__ import annotations

import pytest

from retrieval.protocol import Hit
from serving.chat.citations import CitationRewriter
from serving.chat.support import SupportChecker, claims, review

REDIS = "缓存使用Redis，默认TTL设置为3600秒。限流为每个用户100/minute，超出返回429。"
QWEN = "Qwen-14B在4bit量化后的推理速度比FP16快1.8倍，显存占用降到9GB。"
LEAVE = "Employees receive 25 days of paid annual leave per calendar year."
CHECKER = SupportChecker()  # one jieba load for the module


def test_each_marker_run_takes_the_sentence_or_clause_before_it():
    found = claims("Redis的TTL为3600秒[1]。4bit量化后更快[2][3]. Badges are worn. [4] Then [5]")
    assert [(c.text, c.numbers) for c in found] == [
        ("Redis的TTL为3600秒", (1,)),
        ("4bit量化后更快", (2, 3)),
        ("Badges are worn", (4,)),
        ("Then", (5,)),
    ]


@pytest.mark.parametrize(
    ("claim", "passage", "supported", "missing"),
    [
        ("Redis缓存的TTL是3600秒", REDIS, True, ()),
        ("每个用户限流100/minute", REDIS, True, ()),
        ("Redis缓存的TTL是7200秒", REDIS, False, ("7200",)),  # a number the passage lacks
        ("Qwen-14B用4bit量化后推理速度比FP16快1.8倍", QWEN, True, ()),
        ("Qwen-7B用4bit量化后推理速度比FP16快1.8倍", QWEN, False, ("Qwen-7B",)),
        ("Qwen-14B用4bit量化后推理速度比FP16快1.8倍", REDIS, False, None),  # the wrong passage
        ("Employees get 25 days of paid leave", LEAVE, True, ()),
        ("Employees get 30 days of paid leave", LEAVE, False, ("30",)),
        ("Remote work needs a manager's approval", LEAVE, False, ()),
    ],
)
def test_claims_are_backed_only_by_passages_that_say_them(claim, passage, supported, missing):
    [result] = CHECKER.check([(claim, passage)])
    assert result.supported is supported, result
    if missing is not None:
        assert result.missing == missing
    assert 0 <= result.score <= 1


def test_semantic_support_comes_from_the_embedder(embedder):
    lexical, semantic = CHECKER, SupportChecker(embedder, lexical_weight=0.5)
    pair = [("Staff get twenty-five vacation days a year", LEAVE)]
    assert semantic.check(pair)[0].score > lexical.check(pair)[0].score


def test_review_marks_each_citation_and_warns_of_the_unbacked_claim():
    hits = [
        Hit(score=1.0, kb="ops", document_id=f"d{i}", title=f"T{i}", source=f"{i}.md", page=i,
            char_start=0, char_end=len(text), chunk_index=0, text=text)
        for i, text in enumerate([REDIS, QWEN], 1)
    ]  # fmt: skip
    rewriter = CitationRewriter(hits)
    text = rewriter.rewrite("TTL是3600秒[1]。4bit量化比FP16快1.8倍[1][2]，见 [2]")
    checked, warnings = review(CHECKER, text, rewriter.citations, rewriter.cited_texts())
    assert [(c.number, c.supported) for c in checked] == [(1, False), (2, True)]
    assert checked[0].support is not None
    assert checked[0].support < 0.5 <= (checked[1].support or 0)
    assert len(warnings) == 1
    assert warnings[0].startswith('citation [1] does not support "4bit量化比FP16快1.8倍"')
    assert "lacks 1.8, 4bit, FP16" in warnings[0]
