"""The web page end to end in Debian's headless Chromium, driven by Playwright.

The real app under uvicorn on loopback, real ingestion of real documents from ../shared/eval:
create a knowledge base, drop a PDF and a DOCX, watch the job finish, see an encrypted PDF's
reason, ask, follow a citation into the viewer (right page, highlight over the cited glyphs,
which PDFium's own search locates), rate the answer and find the rating in GET /v1/feedback.
A screenshot of each screen is written to the test's folder, and to $KB_SCREENSHOTS when set
(how docs/screenshots/ is made).
"""

from __future__ import annotations

import base64
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pypdfium2 as pdfium  # type: ignore[import-untyped]
import pytest

from core.embeddings import Embedder
from ingest.settings import IngestSettings
from serving.app import create_app
from serving.settings import ServingSettings
from tests.support.env import EVAL_DIR, EVAL_MISSING
from tests.support.server import free_port, serve

CHROMIUM = Path(os.environ.get("KB_CHROMIUM", "/usr/bin/chromium"))
IN_CI = os.environ.get("CI") == "true"
SCREENSHOTS = os.environ.get("KB_SCREENSHOTS")
DOCS = EVAL_DIR / "documents"
PDF = DOCS / "pdf_text" / "textract_raw_text.pdf"
DOCX = DOCS / "docx" / "textract_paragraphs_and_tables.docx"
ENCRYPTED = DOCS / "pdf_encrypted" / "pypdf_r4-user-password.pdf"
QUESTION = "Pork belly, 3 wolf moon, butcher mustache?"

playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def chromium() -> Path:
    if not CHROMIUM.exists():
        message = f"no Chromium at {CHROMIUM}: apt-get install chromium (scripts/install does)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    if not PDF.exists():
        pytest.skip(EVAL_MISSING)
    return CHROMIUM


@pytest.fixture
def url(tmp_path: Path, embedder: Embedder) -> Iterator[str]:
    port = free_port()
    app = create_app(
        ServingSettings(port=port), IngestSettings(data_dir=tmp_path / "data"), embedder=embedder
    )
    with serve(app, port=port) as url:
        yield url


@pytest.fixture
def page(chromium: Path, url: str) -> Iterator[Any]:
    with playwright_api.sync_playwright() as p:
        # Root in a container has no user namespaces for Chromium's sandbox.
        browser = p.chromium.launch(executable_path=str(chromium), args=["--no-sandbox"])
        context = browser.new_context(locale="en-GB", viewport={"width": 1360, "height": 900})
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))

        def console(message: Any) -> None:
            if message.type == "error":
                errors.append(message.text)

        page.on("console", console)
        page.set_default_timeout(120_000)
        page.goto(url)
        yield page
        browser.close()
        assert not errors, errors  # includes any Content-Security-Policy violation


def shot(page: Any, folder: Path, name: str) -> None:
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        shutil.copy(folder / f"{name}.png", Path(SCREENSHOTS) / f"{name}.png")


def drop(page: Any, selector: str, files: list[Path]) -> None:
    """Drop files on an element the way a person drags them from their desktop."""
    payload = [{"name": f.name, "data": base64.b64encode(f.read_bytes()).decode()} for f in files]
    page.evaluate(
        """([selector, files]) => {
            const transfer = new DataTransfer();
            for (const f of files) {
                const bytes = Uint8Array.from(atob(f.data), (c) => c.charCodeAt(0));
                transfer.items.add(new File([bytes], f.name));
            }
            const target = document.querySelector(selector);
            for (const type of ['dragover', 'drop']) {
                const event = new DragEvent(type, { dataTransfer: transfer, bubbles: true });
                target.dispatchEvent(event);
            }
        }""",
        [selector, payload],
    )


def cited_glyphs(citation: dict[str, Any], chunk_text: str) -> list[tuple[float, ...]]:
    """Tight boxes (PDF points, top-left origin) of the cited text's first line, by PDFium."""
    first_line = next(line.strip() for line in chunk_text.splitlines() if line.strip())
    pdf = pdfium.PdfDocument(PDF)
    try:
        pdf_page = pdf[citation["page"] - 1]
        height = pdf_page.get_height()
        textpage = pdf_page.get_textpage()
        start, count = textpage.search(first_line[:30]).get_next()
        boxes = [textpage.get_charbox(i) for i in range(start, start + count)]
        return [(l, height - t, r, height - b) for l, b, r, t in boxes if r > l]  # noqa: E741
    finally:
        pdf.close()


def test_upload_ask_cite_view_and_rate(page, url, tmp_path):
    # Knowledge bases: create one.
    page.click("#nav-kbs")
    page.fill("#kb-name", "handbook")
    page.fill("#kb-description", "Company <b>handbook</b>")
    page.click("#kb-create button[type=submit]")
    row = page.locator("tr[data-kb=handbook]")
    row.wait_for()
    assert "Company <b>handbook</b>" in row.inner_text()  # shown as text, never as markup
    shot(page, tmp_path, "knowledge-bases")

    # Upload: drop a PDF and a DOCX, then an encrypted PDF; progress comes from the server.
    row.locator("a").click()
    page.locator("#dropzone").wait_for()
    drop(page, "#dropzone", [PDF, DOCX])
    job = page.locator(".job").first
    job.locator("[data-outcome=ingested]").nth(1).wait_for()
    page.locator(".job.finished").first.wait_for()
    assert "Done: 2 of 2 files" in job.locator(".job-status").inner_text()
    page.set_input_files("#upload-files", str(ENCRYPTED))
    failed = page.locator(".job").first.locator("li[data-outcome=failed]")
    failed.wait_for()
    reason = failed.locator(".reason").inner_text()
    assert reason == "Password protected: remove the password and upload it again."
    page.locator("#doc-list tr[data-source]").nth(1).wait_for()
    docs = page.locator("#doc-list tbody").inner_text()
    assert PDF.name in docs
    assert DOCX.name in docs
    shot(page, tmp_path, "documents-and-upload")

    # Ask: the answer streams in over server-sent events, with markers and sources.
    page.click("#nav-ask")
    page.check("input[name=kb][value=handbook]")
    page.fill("#question", QUESTION)
    with page.expect_response("**/v1/chat/completions") as answered:
        page.click("#send")
    assert answered.value.headers["content-type"].startswith("text/event-stream")
    turn = page.locator(".turn").last
    turn.locator(".marker").first.wait_for()
    page.locator(".turn.streaming").wait_for(state="detached")
    assert "3 wolf moon butcher mustache" in turn.locator(".answer").inner_text()
    conversations = page.evaluate("JSON.parse(localStorage.getItem('kb.conversations'))")
    citation = conversations[0]["messages"][1]["citations"][0]
    assert (citation["source"], citation["page"]) == (PDF.name, 2)
    assert page.locator("#sources li").first.locator(".where").inner_text().endswith("page 2")
    shot(page, tmp_path, "ask")

    # The viewer: the cited page, with boxes over the cited characters.
    turn.locator(".marker").first.click()
    viewer = page.locator("#viewer")
    viewer.locator(".highlight").first.wait_for()
    assert viewer.locator("#viewer-body").get_attribute("data-page") == "2"
    assert viewer.locator("#viewer-page").inner_text() == "Page 2 of 2"
    chunks = httpx.get(
        f"{url}/v1/knowledge-bases/handbook/documents/{citation['document_id']}/chunks"
    ).json()["data"]
    chunk = next(c for c in chunks if c["char_start"] == citation["char_start"])
    image = viewer.locator(".page-image").bounding_box()
    points = image["width"] / pdfium.PdfDocument(PDF)[1].get_width()
    marks = [
        viewer.locator(".highlight").nth(i).bounding_box()
        for i in range(viewer.locator(".highlight").count())
    ]
    for left, top, right, bottom in cited_glyphs(citation, chunk["text"]):
        x0, y0 = image["x"] + left * points, image["y"] + top * points
        x1, y1 = image["x"] + right * points, image["y"] + bottom * points
        assert any(
            m["x"] - 1 <= x0 and x1 <= m["x"] + m["width"] + 1
            and m["y"] - 1 <= y0 and y1 <= m["y"] + m["height"] + 1
            for m in marks
        ), ((x0, y0, x1, y1), marks)  # fmt: skip
    shot(page, tmp_path, "viewer")
    page.click("#viewer-prev")
    page.locator("#viewer-body[data-page='1']").wait_for()
    assert viewer.locator(".highlight").count() == 0
    page.keyboard.press("Escape")

    # Rate the answer; the rating is what GET /v1/feedback lists.
    turn.locator("button.thumb[data-rating='5']").click()
    turn.locator(".comment").fill("Quoted the right page")
    turn.locator(".rate button[type=submit]").click()
    turn.locator(".rated", has_text="Thank you").wait_for()
    [feedback] = httpx.get(f"{url}/v1/feedback").json()["data"]
    assert (feedback["rating"], feedback["comment"]) == (5, "Quoted the right page")
    assert feedback["question"] == QUESTION
    assert feedback["citations"][0]["page"] == 2

    # A DOCX citation: the passage highlighted within its text.
    page.fill("#question", "Which paragraph should appear first, before the table?")
    page.click("#send")
    second = page.locator(".turn").nth(1)
    second.locator(".marker").first.wait_for()
    page.locator(".turn.streaming").wait_for(state="detached")
    conversations = page.evaluate("JSON.parse(localStorage.getItem('kb.conversations'))")
    assert conversations[0]["messages"][3]["citations"][0]["source"] == DOCX.name
    second.locator(".marker").first.click()
    passage = viewer.locator("mark.passage")
    passage.wait_for()
    assert "This is the paragraph before the table." in passage.inner_text()
    shot(page, tmp_path, "viewer-text")
    page.keyboard.press("Escape")
    page.set_viewport_size({"width": 390, "height": 844})
    shot(page, tmp_path, "ask-phone")

    # Delete a document, after confirming.
    page.set_viewport_size({"width": 1360, "height": 900})
    page.click("#nav-kbs")
    page.locator("tr[data-kb=handbook] a").click()
    page.locator(f"tr[data-source='{DOCX.name}'] button.danger").click()
    page.locator("#confirm button.danger").click()
    page.locator(f"tr[data-source='{DOCX.name}']").wait_for(state="detached")
    assert page.locator("#doc-list tr[data-source]").count() == 1


def test_chinese_interface_text_follows_the_browser(chromium, url):
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(chromium), args=["--no-sandbox"])
        page = browser.new_context(locale="zh-CN").new_page()
        page.goto(f"{url}/#/kbs")
        page.locator("#kb-create").wait_for()
        assert page.locator("#nav-ask").inner_text() == "提问"
        assert page.locator("h1").inner_text() == "知识库"
        assert page.locator("html").get_attribute("lang") == "zh-CN"
        browser.close()
