"""Time from following a citation to the highlighted page, for a 100-page PDF.

Run by hand from the repository root:

    HF_HUB_OFFLINE=1 .venv/bin/python bench/viewer.py [--pdf PATH] [--pages 100] [--samples 40]

The first `--pages` pages of a real PDF from ../shared/eval (Free Culture, 352 pages) are
ingested with the real runtime; the app is served under uvicorn on loopback. For citations on
pages spread over the document it measures:
- endpoints: the page image and the highlight boxes fetched together, as the viewer does;
- browser (when Debian's Chromium is installed): in headless Chromium, the page's own viewer
  opening the citation, from the call until the image is decoded and the boxes are placed;
  cold, then with the page prefetched as the page does when an answer is complete.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import httpx  # noqa: E402
import pypdfium2 as pdfium  # type: ignore[import-untyped]  # noqa: E402

from core.embeddings import open_embedder  # noqa: E402
from core.settings import EmbeddingSettings  # noqa: E402
from ingest.outcome import NullProgress  # noqa: E402
from ingest.runtime import IngestRuntime  # noqa: E402
from ingest.settings import IngestSettings  # noqa: E402
from serving.app import create_app  # noqa: E402
from serving.settings import ServingSettings  # noqa: E402
from tests.support.server import free_port, serve  # noqa: E402

EVAL_PDF = ROOT.parent / "shared" / "eval" / "documents" / "pdf_text" / "pdfjs_freeculture.pdf"
CHROMIUM = Path("/usr/bin/chromium")


def first_pages(source: Path, pages: int, target: Path) -> Path:
    out = pdfium.PdfDocument.new()
    src = pdfium.PdfDocument(source)
    out.import_pages(src, list(range(min(pages, len(src)))))
    out.save(target)
    return target


async def ingest(data: Path, pdf: Path, embedder) -> None:
    runtime = await IngestRuntime.open(IngestSettings(data_dir=data), embedder=embedder)
    try:
        runtime.registry.create_kb("bench")
        result = await runtime.ingestor.ingest("bench", pdf, pdf.name, NullProgress())
        print(f"ingested {pdf.name}: {result.pages} pages, {result.chunks} chunks")
    finally:
        await runtime.close()


def citations(url: str, samples: int) -> list[dict]:
    """Chunks spread over the document, on pages with a text layer (OCR'd pages get no box)."""
    base = f"{url}/v1/knowledge-bases/bench/documents"
    doc = httpx.get(base).json()["data"][0]
    chunks = httpx.get(f"{base}/{doc['id']}/chunks").json()["data"]
    data = [
        c for c in chunks
        if httpx.get(
            f"{base}/{doc['id']}/pages/{c['page']}/highlight",
            params={"char_start": c["char_start"], "char_end": c["char_end"]},
        ).json()["boxes"]
    ]  # fmt: skip
    print(f"{len(data)} of {len(chunks)} chunks have boxes (the others are on OCR'd pages)")
    step = max(1, len(data) // samples)
    return [
        {"kb": "bench", "document_id": doc["id"], "source": doc["source"], "title": doc["title"],
         "page": c["page"], "char_start": c["char_start"], "char_end": c["char_end"],
         "snippet": c["text"][:100], "type": "document", "number": 1}
        for c in data[::step][:samples]
    ]  # fmt: skip


def endpoints(url: str, cites: list[dict]) -> list[float]:
    times = []
    with httpx.Client(base_url=url, timeout=60) as client, ThreadPoolExecutor(2) as pool:
        for c in cites:
            base = f"/v1/knowledge-bases/bench/documents/{c['document_id']}/pages/{c['page']}"
            span = {"char_start": c["char_start"], "char_end": c["char_end"]}
            start = time.perf_counter()
            image = pool.submit(client.get, f"{base}/image")
            boxes = pool.submit(client.get, f"{base}/highlight", params=span)
            assert image.result().status_code == 200
            assert boxes.result().json()["boxes"], c
            times.append(time.perf_counter() - start)
    return times


def browser(url: str, cites: list[dict]) -> tuple[list[float], list[float]]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        page = chromium.new_page(viewport={"width": 1360, "height": 900})
        page.goto(url)
        page.locator("#nav").wait_for(state="visible")
        times = page.evaluate(
            """async (cites) => {
                const viewer = await import('/ui/js/viewer.js');
                const open = async (c) => {
                    const start = performance.now();
                    await viewer.open(c);
                    if (!document.querySelector('#viewer .highlight')) throw new Error('no box');
                    return (performance.now() - start) / 1000;
                };
                const cold = [];
                for (const c of cites) cold.push(await open(c));
                const warm = [];
                for (const c of cites) {
                    await viewer.prefetch([c]);  // what the page does when an answer ends
                    warm.push(await open(c));
                }
                return [cold, warm];
            }""",
            cites,
        )
        chromium.close()
    return list(times[0]), list(times[1])


def report(name: str, times: list[float]) -> None:
    ordered = sorted(times)
    p90 = ordered[int(0.9 * (len(ordered) - 1))]
    print(f"{name:>10}: p50 {statistics.median(times) * 1000:6.1f} ms  "
          f"p90 {p90 * 1000:6.1f} ms  ({len(times)} citations)")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pdf", type=Path, default=EVAL_PDF)
    parser.add_argument("--pages", type=int, default=100)
    parser.add_argument("--samples", type=int, default=40)
    args = parser.parse_args()
    embedder = open_embedder(EmbeddingSettings(), ROOT / "bench" / "results" / "models")
    with tempfile.TemporaryDirectory() as tmp:
        pdf = first_pages(args.pdf, args.pages, Path(tmp) / f"first-{args.pages}-pages.pdf")
        asyncio.run(ingest(Path(tmp) / "data", pdf, embedder))
        port = free_port()
        app = create_app(
            ServingSettings(port=port), IngestSettings(data_dir=Path(tmp) / "data"),
            embedder=embedder,
        )  # fmt: skip
        with serve(app, port=port) as url:
            cites = citations(url, args.samples)
            endpoints(url, cites[:3])  # warm up: first imports, first PDF open
            report("endpoints", endpoints(url, cites))
            if CHROMIUM.exists():
                cold, prefetched = browser(url, cites)
                report("browser", cold)
                report("prefetched", prefetched)
            else:
                print("browser: skipped, no Chromium at /usr/bin/chromium")


if __name__ == "__main__":
    main()
