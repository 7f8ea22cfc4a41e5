"""TikaParser against the stand-in, and against a real Tika 3.x when TIKA_URL names one."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from core.errors import (
    CorruptDocument,
    DocumentError,
    EncryptedDocument,
    NoTextLayer,
    UnsupportedFormat,
    UpstreamError,
    UpstreamTimeout,
)
from ingest.parsers.tika import TikaParser, disposition
from tests.ingest.conftest import Standin
from tests.support import documents

RTF = r"{\rtf1\ansi{\fonttbl{\f0 Times;}}\f0 Hello \b RTF\b0  world.\par Second paragraph.}"


@pytest.fixture
async def tika(tika_url: str) -> AsyncIterator[TikaParser]:
    """A parser for every Tika under test (the stand-in, and a real one by TIKA_URL)."""
    parser = TikaParser(tika_url, timeout_s=60)
    yield parser
    await parser.aclose()


@pytest.fixture
async def standin_tika(tika_standin: Standin) -> AsyncIterator[TikaParser]:
    """A parser for failure modes only the stand-in can stage, with a short retry pause."""
    parser = TikaParser(tika_standin.url, timeout_s=10, retry_backoff_s=0.05)
    yield parser
    await parser.aclose()


def _words(text: str) -> list[str]:
    return text.split()


async def test_pdf_pages_keep_their_boundaries(tika: TikaParser, tmp_path: Path) -> None:
    path = documents.text_pdf(tmp_path / "three.pdf")
    document = await tika.parse(path, path.name)
    assert [_words(page.text) for page in document.pages] == [
        _words(" ".join(lines)) for lines in documents.PDF_PAGES
    ]
    assert document.metadata["content_type"].startswith("application/pdf")


async def test_rtf_needs_tika_and_parses(tika: TikaParser, tmp_path: Path) -> None:
    path = documents.write_text(tmp_path / "legacy.rtf", RTF)
    document = await tika.parse(path, path.name)
    text = " ".join(page.text for page in document.pages)
    assert _words(text) == _words("Hello RTF world. Second paragraph.")
    assert document.title == "legacy"


async def test_encrypted_pdf_is_encrypted(tika: TikaParser, tmp_path: Path) -> None:
    path = documents.encrypted_pdf(tmp_path / "locked.pdf")
    with pytest.raises(EncryptedDocument, match="password protected"):
        await tika.parse(path, path.name)


async def test_pdf_without_text_needs_ocr(tika: TikaParser, tmp_path: Path) -> None:
    path = documents.image_only_pdf(tmp_path / "scan.pdf")
    with pytest.raises(NoTextLayer, match="needs OCR"):
        await tika.parse(path, path.name)


async def test_unknown_binary_is_refused(tika: TikaParser, tmp_path: Path) -> None:
    path = tmp_path / "blob.bin"
    path.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(DocumentError):
        await tika.parse(path, path.name)


async def test_non_ascii_names_travel_in_rfc_5987(
    tika: TikaParser, tika_standin: Standin, tmp_path: Path
) -> None:
    path = documents.write_text(tmp_path / "x.txt", "第一段\n\n第二段")
    document = await tika.parse(path, "季度报告.txt")
    assert document.title == "季度报告"
    assert _words(document.pages[0].text) == ["第一段", "第二段"]


async def test_standin_saw_the_decoded_name(
    standin_tika: TikaParser, tika_standin: Standin, tmp_path: Path
) -> None:
    path = documents.write_text(tmp_path / "x.txt", "text")
    await standin_tika.parse(path, "résumé «final».txt")
    assert tika_standin.app.state.hits["résumé «final».txt"] == 1


async def test_dropped_connection_is_retried_once(
    standin_tika: TikaParser,
    tika_standin: Standin,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    path = documents.text_pdf(tmp_path / "a.pdf")
    document = await standin_tika.parse(path, "crash-once-report.pdf")
    assert document.page_count == len(documents.PDF_PAGES)
    assert tika_standin.app.state.drops["crash-once-report.pdf"] == 1
    assert tika_standin.app.state.hits["crash-once-report.pdf"] == 1
    # Depending on timing the drop reads as a reset (ReadError) or a cut-off answer.
    assert "retrying once" in caplog.text


async def test_persistent_503_fails_after_exactly_one_retry(
    standin_tika: TikaParser, tika_standin: Standin, tmp_path: Path
) -> None:
    path = documents.write_text(tmp_path / "a.txt", "text")
    with pytest.raises(UpstreamError, match="503"):
        await standin_tika.parse(path, "always-503.txt")
    assert tika_standin.app.state.hits["always-503.txt"] == 2


async def test_slow_tika_times_out(tika_standin: Standin, tmp_path: Path) -> None:
    path = documents.write_text(tmp_path / "a.txt", "text")
    async with httpx.AsyncClient() as client:
        parser = TikaParser(tika_standin.url, timeout_s=0.3, client=client)
        with pytest.raises(UpstreamTimeout, match="did not answer in time"):
            await parser.parse(path, "slow.txt")
        await parser.aclose()
        assert not client.is_closed  # an injected client belongs to its owner


async def test_unparseable_pdf_reports_the_first_trace_line(
    standin_tika: TikaParser, tmp_path: Path
) -> None:
    path = documents.write_text(tmp_path / "a.pdf", "%PDF-1.7 and then nothing")
    with pytest.raises(CorruptDocument, match="TikaException") as caught:
        await standin_tika.parse(path, path.name)
    assert "\tat " not in caught.value.message


async def test_standin_answers_415_for_unknown_binaries(
    standin_tika: TikaParser, tmp_path: Path
) -> None:
    path = tmp_path / "blob.bin"
    path.write_bytes(bytes(range(256)))
    with pytest.raises(UnsupportedFormat, match="no parser"):
        await standin_tika.parse(path, path.name)


@pytest.mark.parametrize(
    ("name", "error", "message"),
    [
        ("status-422-encrypted.txt", EncryptedDocument, "password"),
        ("status-422.txt", CorruptDocument, "422"),
        ("status-500.txt", UpstreamError, "HTTP 500 .*TikaException"),
        ("status-413.txt", DocumentError, "too large"),
    ],
)
async def test_http_statuses_map_to_errors(
    standin_tika: TikaParser, tmp_path: Path, name: str, error: type[Exception], message: str
) -> None:
    path = documents.write_text(tmp_path / "a.txt", "text")
    with pytest.raises(error, match=message):
        await standin_tika.parse(path, name)


async def test_unreachable_tika_is_an_upstream_error(tmp_path: Path) -> None:
    from tests.support.server import free_port

    path = documents.write_text(tmp_path / "a.txt", "text")
    parser = TikaParser(f"http://127.0.0.1:{free_port()}", retry_backoff_s=0.01)
    with pytest.raises(UpstreamError, match="twice"):
        await parser.parse(path, path.name)
    await parser.aclose()


@pytest.mark.parametrize(
    ("filename", "header"),
    [
        ("report.pdf", 'attachment; filename="report.pdf"'),
        ('a"b\\c.txt', "attachment; filename=\"a_b_c.txt\"; filename*=UTF-8''a%22b%5Cc.txt"),
        ("报告.pdf", "attachment; filename=\"__.pdf\"; filename*=UTF-8''%E6%8A%A5%E5%91%8A.pdf"),
    ],
)
def test_content_disposition(filename: str, header: str) -> None:
    assert disposition(filename) == header
