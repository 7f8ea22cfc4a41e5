"""The document viewer's endpoints and the job progress stream, on the real app under uvicorn.

Expected character boxes come from PDFium's own text search and tight glyph boxes, or from where
the test PDFs draw their text, never from the code under test.
"""

from __future__ import annotations

import asyncio
import io
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy
import pypdfium2 as pdfium  # type: ignore[import-untyped]
import pytest
from PIL import Image

from core.embeddings import Embedder
from ingest.outcome import NullProgress, Outcome
from ingest.parsers.pdf import PdfiumParser
from ingest.settings import IngestSettings
from serving.app import create_app
from serving.settings import ServingSettings
from serving.web.pdfpage import span_boxes
from tests.support.documents import cjk_pdf, docx_with_text, text_pdf
from tests.support.env import EVAL_DIR, EVAL_MISSING
from tests.support.runtime import open_runtime
from tests.support.server import free_port, serve

LINES = [["Page one alpha", "second line of page one"], ["Page two beta"]]
CJK = "中文知识库测试文本"
PARAGRAPHS = [
    "The warehouse opens at seven in the morning.",
    "Forklifts must be inspected before every shift.",
    "Visitors sign in at the front desk.",
]


@pytest.fixture(scope="module")
def originals(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    docs = tmp_path_factory.mktemp("viewer-docs")
    return {
        "lines.pdf": text_pdf(docs / "lines.pdf", LINES),
        "cjk.pdf": cjk_pdf(docs / "cjk.pdf", CJK),
        "rules.docx": docx_with_text(docs / "rules.docx", PARAGRAPHS),
    }


@pytest.fixture(scope="module")
def url(
    tmp_path_factory: pytest.TempPathFactory, originals: dict[str, Path], embedder: Embedder
) -> Iterator[str]:
    data = tmp_path_factory.mktemp("viewer") / "data"

    async def ingest() -> None:
        runtime = await open_runtime(data, embedder)
        try:
            runtime.registry.create_kb("docs")
            for name, path in originals.items():
                result = await runtime.ingestor.ingest("docs", path, name, NullProgress())
                assert result.outcome is Outcome.INGESTED, result
        finally:
            await runtime.close()

    asyncio.run(ingest())
    port = free_port()
    app = create_app(ServingSettings(port=port), IngestSettings(data_dir=data), embedder=embedder)
    with serve(app, port=port) as url:
        yield url


@pytest.fixture(scope="module")
def http(url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=url, timeout=60) as client:
        yield client


def document(http: httpx.Client, source: str) -> dict:
    docs = http.get("/v1/knowledge-bases/docs/documents").json()["data"]
    return next(d for d in docs if d["source"] == source)


def chunks(http: httpx.Client, doc_id: str) -> list[dict]:
    return http.get(f"/v1/knowledge-bases/docs/documents/{doc_id}/chunks").json()["data"]


def glyphs(path: Path, page: int, text: str) -> list[tuple[float, float, float, float]]:
    """Tight boxes of `text`'s characters found by PDFium's search, top-left origin."""
    pdf = pdfium.PdfDocument(path)
    try:
        pdf_page = pdf[page - 1]
        height = pdf_page.get_height()
        textpage = pdf_page.get_textpage()
        found = textpage.search(text).get_next()
        assert found, text
        start, count = found
        boxes = [textpage.get_charbox(i) for i in range(start, start + count)]
        return [(l, height - t, r, height - b) for l, b, r, t in boxes if r > l]  # noqa: E741
    finally:
        pdf.close()


def covered(glyph: tuple[float, ...], boxes: list[dict], slack: float = 0.5) -> bool:
    left, top, right, bottom = glyph
    return any(
        b["left"] - slack <= left and right <= b["right"] + slack
        and b["top"] - slack <= top and bottom <= b["bottom"] + slack
        for b in boxes
    )  # fmt: skip


def highlight(http: httpx.Client, doc_id: str, page: int, start: int, end: int) -> httpx.Response:
    return http.get(
        f"/v1/knowledge-bases/docs/documents/{doc_id}/pages/{page}/highlight",
        params={"char_start": start, "char_end": end},
    )


def test_a_page_renders_as_png_at_the_configured_scale(http):
    doc = document(http, "lines.pdf")
    response = http.get(f"/v1/knowledge-bases/docs/documents/{doc['id']}/pages/1/image")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    image = Image.open(io.BytesIO(response.content)).convert("L")
    assert image.size == (round(595.2756 * 1.5), round(841.8898 * 1.5))
    # "Page one alpha" is drawn at x=72pt, baseline 750pt: ink there, paper elsewhere.
    text_band = image.crop((int(72 * 1.5), int(84 * 1.5), int(150 * 1.5), int(92 * 1.5)))
    assert numpy.asarray(text_band).min() < 100
    assert numpy.asarray(image.crop((0, 0, 60, 60))).min() > 240
    again = http.get(response.url, headers={"If-None-Match": response.headers["etag"]})
    assert again.status_code == 304


def test_the_second_page_and_pages_out_of_range(http):
    doc = document(http, "lines.pdf")
    base = f"/v1/knowledge-bases/docs/documents/{doc['id']}/pages"
    assert http.get(f"{base}/2/image", params={"scale": 0.5}).status_code == 200
    missing = http.get(f"{base}/3/image")
    assert missing.status_code == 400
    assert "page 3 is not between 1 and 2" in missing.json()["error"]["message"]


def test_a_span_crossing_lines_gets_one_box_per_line_covering_its_characters(http, originals):
    doc = document(http, "lines.pdf")
    chunk = next(c for c in chunks(http, doc["id"]) if c["page"] == 1)
    assert chunk["text"] == "Page one alpha\nsecond line of page one"
    start = chunk["char_start"] + chunk["text"].index("alpha")
    end = chunk["char_start"] + chunk["text"].index(" of page")
    response = highlight(http, doc["id"], 1, start, end)
    assert response.status_code == 200
    body = response.json()
    assert (body["page"], body["pages"]) == (1, 2)
    assert body["width"] == pytest.approx(595.28, abs=0.01)
    boxes = body["boxes"]
    assert len(boxes) == 2
    path = originals["lines.pdf"]
    for glyph in glyphs(path, 1, "alpha") + glyphs(path, 1, "second line"):
        assert covered(glyph, boxes), (glyph, boxes)
    # Nothing outside the span: the box of line one starts at "alpha", not at "Page".
    page_word = glyphs(path, 1, "Page")[0]
    assert not covered(page_word, boxes)
    assert boxes[0]["bottom"] <= boxes[1]["top"] + 1  # line one above line two


def test_a_cjk_span_is_boxed_over_its_characters(http, originals):
    doc = document(http, "cjk.pdf")
    chunk = chunks(http, doc["id"])[0]
    at = chunk["char_start"] + chunk["text"].index("知识库")
    body = highlight(http, doc["id"], 1, at, at + 3).json()
    [box] = body["boxes"]
    # cjk_pdf draws 14-point characters from x=72 on the baseline y=750 (from the bottom).
    assert box["left"] == pytest.approx(72 + 2 * 14, abs=0.5)
    assert box["right"] == pytest.approx(72 + 5 * 14, abs=0.5)
    baseline = body["height"] - 750
    assert box["top"] < baseline <= box["bottom"]
    assert box["bottom"] - box["top"] >= 10  # the characters' height, not a flat line
    for glyph in glyphs(originals["cjk.pdf"], 1, "知识库"):
        assert box["left"] - 0.5 <= glyph[0]
        assert glyph[2] <= box["right"] + 0.5


def test_bad_spans_and_documents_without_pages_are_refused(http):
    pdf, docx = document(http, "lines.pdf"), document(http, "rules.docx")
    assert highlight(http, pdf["id"], 1, 5, 5).status_code == 400
    assert highlight(http, pdf["id"], 1, 5, 4).status_code == 400
    assert highlight(http, pdf["id"], 1, -1, 4).status_code == 422
    not_pdf = highlight(http, docx["id"], 1, 0, 5)
    assert not_pdf.status_code == 404
    assert "not a PDF" in not_pdf.json()["error"]["message"]
    assert highlight(http, "nope", 1, 0, 5).status_code == 404


def test_a_docx_passage_comes_with_its_surrounding_text(http):
    doc = document(http, "rules.docx")
    chunk = chunks(http, doc["id"])[0]
    text = chunk["text"]
    start = chunk["char_start"] + text.index("Forklifts")
    end = start + len("Forklifts must be inspected before every shift.")
    response = http.get(
        f"/v1/knowledge-bases/docs/documents/{doc['id']}/passage",
        params={"page": 1, "char_start": start, "char_end": end},
    )
    assert response.status_code == 200
    body = response.json()
    assert body["text"] == "Forklifts must be inspected before every shift."
    assert body["before"].endswith("The warehouse opens at seven in the morning.\n\n")
    assert body["after"].startswith("\n\nVisitors sign in")
    assert (body["page"], body["pages"]) == (1, 1)


def test_job_progress_streams_as_server_sent_events(http, tmp_path):
    pdf = text_pdf(tmp_path / "stream.pdf", [["Streamed page one"], ["Streamed page two"]])
    with pdf.open("rb") as handle:
        job = http.post(
            "/v1/knowledge-bases/docs/documents", files=[("files", ("stream.pdf", handle))]
        ).json()
    events: list[tuple[str, dict]] = []
    with http.stream("GET", f"/v1/jobs/{job['id']}/events") as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        name = ""
        for line in response.iter_lines():
            if line.startswith("event: "):
                name = line.removeprefix("event: ")
            elif line.startswith("data: "):
                events.append((name, json.loads(line.removeprefix("data: "))))
    assert events[-1][0] == "done"
    assert all(name == "progress" for name, _ in events[:-1])
    final = events[-1][1]
    assert final["status"] == "done"
    assert final["progress"]["files_done"] == 1
    assert final["files"][0]["outcome"] == "ingested"
    assert final["files"][0]["pages"] == 2
    assert http.get("/v1/jobs/nope/events").status_code == 404


def test_the_page_is_served_with_a_strict_content_security_policy(http):
    page = http.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    csp = page.headers["content-security-policy"]
    assert "default-src 'self'" in csp
    assert "script-src 'self';" in csp
    assert "unsafe-inline" not in csp
    assert '<script type="module" src="/ui/js/main.js">' in page.text
    script = http.get("/ui/js/main.js")
    assert script.headers["content-type"].startswith("text/javascript")
    assert http.get("/ui/../page.py").status_code == 404
    assert http.get("/ui/%2e%2e/page.py").status_code == 404


def test_the_viewer_endpoints_are_in_the_openapi_document(http):
    paths = http.get("/openapi.json").json()["paths"]
    base = "/v1/knowledge-bases/{kb}/documents/{doc_id}"
    assert (
        "image/png" in paths[f"{base}/pages/{{page}}/image"]["get"]["responses"]["200"]["content"]
    )
    assert f"{base}/pages/{{page}}/highlight" in paths
    assert f"{base}/passage" in paths
    assert "/v1/jobs/{job_id}/events" in paths
    assert "/" not in paths


def test_the_page_can_be_turned_off(tmp_path, embedder):
    port = free_port()
    settings = ServingSettings(port=port, page={"enabled": False})
    app = create_app(settings, IngestSettings(data_dir=tmp_path / "data"), embedder=embedder)
    with serve(app, port=port) as url:
        assert httpx.get(f"{url}/").status_code == 404
        assert httpx.get(f"{url}/healthz").status_code == 200
    shutil.rmtree(tmp_path / "data", ignore_errors=True)


REAL = [
    # Crosses a line; the page also has characters beyond the BMP (math letters).
    ("pdf_cjk/mineru_introduction.pdf", 1, "是用化学式来描述\n各种物质"),
    ("pdf_cjk/chatchat_1.pdf", 1, "从文中时间背景来看"),
    ("pdf_cjk/pdfjs_XiaoBiaoSong.pdf", 1, "关 于 红 军 作 战 的 原 则"),  # a font not embedded
    # PDFium's bounded text breaks this line where its character stream does not.
    ("pdf_text/pdfjs_tracemonkey.pdf", 1, "Mike Shaver∗, David Anderson"),
]


@pytest.mark.parametrize(("name", "page", "text"), REAL)
def test_spans_of_real_pdfs_map_to_their_glyphs(name, page, text):
    path = EVAL_DIR / "documents" / name
    if not path.exists():
        pytest.skip(EVAL_MISSING)
    parsed = asyncio.run(PdfiumParser().parse(path, name))
    page_text = parsed.pages[page - 1].text
    start = page_text.index(text)
    found = span_boxes(path, page, start, start + len(text), None)
    boxes = [box.__dict__ for box in found.boxes]
    assert len(boxes) == text.count("\n") + 1
    for line in text.split("\n"):
        for glyph in glyphs(path, page, line):
            assert covered(glyph, boxes, slack=1.0), (glyph, boxes)
