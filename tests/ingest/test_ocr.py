"""OCR of scanned PDF pages: real scans rendered at test time, read by the real models."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from core.errors import NoTextLayer, ParserTimeout
from ingest.parsers.ocr import PageOcr
from ingest.parsers.pdf import PdfiumParser
from ingest.parsers.reading_order import Box, join_pieces, page_text, tidy
from tests.support import documents, scans

CHATCHAT = "pdf_cjk/chatchat_1.pdf"


@pytest.fixture(scope="module")
def ocr() -> Iterator[PageOcr]:
    """One OCR worker for the module: the models load once."""
    engine = PageOcr(page_timeout_s=300)
    yield engine
    engine.close()


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def char_accuracy(expected: str, got: str) -> float:
    """1 - edit distance / len(expected), whitespace left out (CJK has none to compare)."""
    want, have = "".join(expected.split()), "".join(got.split())
    previous = list(range(len(have) + 1))
    for i, a in enumerate(want, 1):
        current = [i]
        for j, b in enumerate(have, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a != b)))
        previous = current
    return 1 - previous[-1] / max(len(want), 1)


async def test_a_scanned_english_page_is_read_and_marked(ocr: PageOcr, tmp_path: Path) -> None:
    path = scans.english_scan(tmp_path / "scan.pdf")
    document = await PdfiumParser(ocr=ocr).parse(path, path.name)
    [page] = document.pages
    assert page.ocr
    expected = "\n".join(scans.ENGLISH_LINES)
    assert char_accuracy(expected, page.text) >= 0.95, page.text
    assert page.text.splitlines()[0].startswith("Quarterly")  # reading order: top line first
    assert document.metadata["ocr_pages"] == "1"


async def test_only_pages_without_a_text_layer_are_read(ocr: PageOcr, tmp_path: Path) -> None:
    path = scans.text_then_scan(tmp_path / "mixed.pdf")
    first, second = (await PdfiumParser(ocr=ocr).parse(path, path.name)).pages
    assert (first.ocr, first.text) == (False, "\n".join(documents.PDF_PAGES[0]))
    assert second.ocr
    assert {"cooling", "pump", "replaced"} <= set(_words(second.text))


async def test_a_scanned_chinese_page_is_read_without_spaces(
    ocr: PageOcr, eval_documents: Path, tmp_path: Path
) -> None:
    source = eval_documents / CHATCHAT
    expected = (await PdfiumParser().parse(source, source.name)).pages[0].text
    scan = scans.scan_of(source, tmp_path / "zh-scan.pdf", pages=[0])
    [page] = (await PdfiumParser(ocr=ocr).parse(scan, scan.name)).pages
    assert page.ocr
    assert char_accuracy(expected, page.text) >= 0.9
    assert "作者：徐公子胜治" in page.text
    assert not re.search(r"[\u4e00-\u9fff] [\u4e00-\u9fff]", page.text)


async def test_without_ocr_a_scan_still_needs_ocr(tmp_path: Path) -> None:
    path = scans.english_scan(tmp_path / "scan.pdf")
    with pytest.raises(NoTextLayer, match="no text layer: needs OCR"):
        await PdfiumParser().parse(path, path.name)


async def test_blank_pages_are_no_text_not_an_error(ocr: PageOcr, tmp_path: Path) -> None:
    path = documents.text_pdf(tmp_path / "blank.pdf", [[], []])
    with pytest.raises(NoTextLayer, match="OCR found no text on its 2 pages"):
        await PdfiumParser(ocr=ocr).parse(path, path.name)


@pytest.fixture
async def hasty() -> AsyncIterator[PageOcr]:
    engine = PageOcr(page_timeout_s=0.001)
    yield engine
    engine.close()


async def test_a_page_over_its_time_limit_is_stopped(hasty: PageOcr, tmp_path: Path) -> None:
    path = scans.english_scan(tmp_path / "scan.pdf")
    with pytest.raises(ParserTimeout, match=r"OCR failed on every page \(over 0\.001 s\)"):
        await PdfiumParser(ocr=hasty).parse(path, path.name)
    assert hasty.worker_pids() == []


async def test_a_timed_out_page_leaves_the_others(hasty: PageOcr, tmp_path: Path) -> None:
    path = scans.text_then_scan(tmp_path / "mixed.pdf")
    document = await PdfiumParser(ocr=hasty).parse(path, path.name)
    assert [page.ocr for page in document.pages] == [False, False]
    assert document.metadata["ocr_failed_pages"] == "2 (over 0.001 s)"


def test_two_columns_are_read_one_after_the_other() -> None:
    title = Box(100, 10, 900, 40, "A title across both columns")
    left = [Box(100, 60 + 30 * i, 480, 80 + 30 * i, f"left {i}") for i in range(4)]
    right = [Box(520, 60 + 30 * i, 900, 80 + 30 * i, f"right {i}") for i in range(4)]
    footer = Box(100, 400, 900, 420, "A footer across both")
    text = page_text([footer, *right, title, *left], page_width=1000)
    assert text.splitlines() == [
        "A title across both columns",
        *(f"left {i}" for i in range(4)),
        *(f"right {i}" for i in range(4)),
        "A footer across both",
    ]


def test_pieces_of_one_line_join_left_to_right() -> None:
    boxes = [Box(300, 12, 400, 28, "world"), Box(10, 10, 200, 30, "hello")]
    assert page_text(boxes, page_width=1000) == "hello world"


def test_cjk_joins_without_spaces_and_mixed_text_keeps_them() -> None:
    assert join_pieces("核电厂", "定期安全") == "核电厂定期安全"
    assert join_pieces("使用", "Redis") == "使用 Redis"
    assert tidy("量化 后 的 推理速度 FP16 mode") == "量化后的推理速度 FP16 mode"


def test_a_centred_block_across_the_gutter_does_not_hide_the_columns() -> None:
    authors = Box(400, 50, 600, 70, "Ann Author, Bo Writer")
    left = [Box(100, 100 + 30 * i, 480, 120 + 30 * i, f"left {i}") for i in range(6)]
    right = [Box(520, 100 + 30 * i, 900, 120 + 30 * i, f"right {i}") for i in range(6)]
    lines = page_text([*right, authors, *left], page_width=1000).splitlines()
    assert lines == ["Ann Author, Bo Writer", *(f"left {i}" for i in range(6)),
                     *(f"right {i}" for i in range(6))]  # fmt: skip


def test_a_table_of_short_cells_is_read_row_by_row() -> None:
    keys = [Box(100, 100 + 30 * i, 200, 120 + 30 * i, f"key {i}") for i in range(5)]
    values = [Box(600, 100 + 30 * i, 700, 120 + 30 * i, f"value {i}") for i in range(5)]
    lines = page_text([*values, *keys], page_width=1000).splitlines()
    assert lines == [f"key {i} value {i}" for i in range(5)]
