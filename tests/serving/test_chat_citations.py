"""Marker renumbering and sentence splitting, fed whole and delta by delta."""

from __future__ import annotations

import pytest

from retrieval.protocol import Hit
from search_proxy.protocol import SearchResult
from serving.chat.citations import CitationRewriter
from serving.chat.extractive import sentences
from serving.chat.protocol import DocumentCitation, WebCitation


def hit(n: int) -> Hit:
    return Hit(
        score=1.0 / n, kb="hr", document_id=f"doc{n}", title=f"Title {n}", source=f"{n}.pdf",
        page=n, char_start=0, char_end=10, chunk_index=0, text=f"passage {n} " * 80,
    )  # fmt: skip


HITS = [hit(n) for n in range(1, 5)]


def rewrite_in_pieces(text: str, size: int) -> tuple[str, CitationRewriter]:
    rewriter = CitationRewriter(HITS)
    out = [rewriter.feed(text[i : i + size]) for i in range(0, len(text), size)]
    return "".join(out) + rewriter.finish(), rewriter


@pytest.mark.parametrize("size", [1, 2, 3, 5, 1000])
def test_markers_are_renumbered_by_first_appearance_and_unknown_ones_dropped(size):
    raw = "Leave is 25 days [3]. Parents get more [9]. Both apply [1, 3][3].\nDone [12][2]"
    text, rewriter = rewrite_in_pieces(raw, size)
    assert text == "Leave is 25 days [1]. Parents get more. Both apply [2][1].\nDone [3]"
    cited = [
        (c.number, c.document_id, c.page)
        for c in rewriter.citations
        if isinstance(c, DocumentCitation)
    ]
    assert cited == [(1, "doc3", 3), (2, "doc1", 1), (3, "doc2", 2)]
    assert all(len(c.snippet) <= 301 for c in rewriter.citations)


def test_web_results_are_numbered_after_the_passages_and_cited_by_url():
    web = SearchResult(
        url="https://example.org/solar", title="Solar power", snippet="Panels make power.",
        engines=["brave", "searxng"], ranks={"brave": 1, "searxng": 3}, score=1.33,
    )  # fmt: skip
    rewriter = CitationRewriter([*HITS[:2], web])
    text = rewriter.rewrite("Panels work [3]. Leave is long [2].")
    assert text == "Panels work [1]. Leave is long [2]."
    first, second = rewriter.citations
    assert isinstance(first, WebCitation)
    assert (first.number, first.url, first.title) == (1, web.url, "Solar power")
    assert first.engines == ["brave", "searxng"]
    assert first.snippet == web.snippet
    assert isinstance(second, DocumentCitation)
    assert (second.number, second.document_id) == (2, "doc2")


@pytest.mark.parametrize("size", [1, 4])
def test_text_that_only_looks_like_a_marker_passes_through(size):
    raw = "Arrays like a[0] and [x] or [12 apples] stay, [5] goes, [0] goes."
    text, rewriter = rewrite_in_pieces(raw, size)
    assert text == "Arrays like a[0] and [x] or [12 apples] stay, goes, [0] goes."
    assert rewriter.citations == []


def test_no_markers_no_citations():
    rewriter = CitationRewriter(HITS)
    assert (
        rewriter.rewrite("The knowledge base does not say.") == "The knowledge base does not say."
    )
    assert rewriter.citations == []


def test_sentences_join_wrapped_lines_and_cut_tables():
    text = (
        "SG&A expenses increased 16.2% to $2.4 billion in fiscal\n2021. As a percentage of net "
        "sales, SG&A decreased. U.S. sales grew by 3% in the year.\n\nNet sales 1 2 3\n"
        + "Row 1,234 5,678 9,012\n"
        * 40
    )
    found = sentences(text)
    assert found[0] == "SG&A expenses increased 16.2% to $2.4 billion in fiscal 2021."
    assert found[1] == "As a percentage of net sales, SG&A decreased."
    assert found[2] == "U.S. sales grew by 3% in the year."
    assert all(len(s) <= 400 for s in found)
    assert sentences("中文句子一。第二个句子在这里！") == ["中文句子一。", "第二个句子在这里！"]
    # PDF line wrapping inside Chinese is joined; English lines and blank lines are not.
    wrapped = (
        "缓存的TTL设置为3600\n秒，限流为每分钟\n100次。\n\n第二章 限流设置\n\nTotals 1 2 3\n4 5 6 7"
    )
    assert sentences(wrapped) == [
        "缓存的TTL设置为3600秒，限流为每分钟100次。",
        "第二章 限流设置",
        "Totals 1 2 3 4 5 6 7",
    ]
