"""Parse benchmark: pages/s by parser and format, OCR pages/s and character accuracy.

Run by hand from the repository root (the eval data must be at /work/shared/eval):

    .venv/bin/python bench/parse.py [--part formats|ocr|accuracy ...] [--scales 1.5 2.0]

- formats: every eval document through PDFium, python-docx and the native Tika (in its
  worker process), by format: pages/s and files/s (parse time only, files that parse).
- ocr: the eval's scanned PDFs, page by page through the OCR worker: pages/s (wall) and CPU
  seconds per page of the worker (wall time on a shared machine says more about the others).
- accuracy: pages of text PDFs whose text PDFium reads (Chinese and English), rendered to
  images and rebuilt as image-only PDFs, then OCRed: character accuracy
  1 - edit distance / reference length, whitespace left out (Chinese has none; English is
  also scored with single spaces, as BM25 sees words).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from core.errors import DocumentError  # noqa: E402
from ingest.parsers.base import Parser  # noqa: E402
from ingest.parsers.docx import DocxParser  # noqa: E402
from ingest.parsers.native_tika import NativeTikaParser  # noqa: E402
from ingest.parsers.ocr import PageOcr  # noqa: E402
from ingest.parsers.pdf import PdfiumParser  # noqa: E402
from tests.support.scans import scan_of  # noqa: E402

DOCUMENTS = Path("/work/shared/eval/documents")
# (file, 0-based pages) whose text layers are right: the OCR reference.
CHINESE = [("pdf_cjk/chatchat_1.pdf", [0, 1, 2, 3, 4]), ("pdf_cjk/mineru_introduction.pdf", [0])]
ENGLISH = [
    ("pdf_text/textract_raw_text.pdf", [0, 1]),
    ("pdf_text/pdfminer_dmca.pdf", [0, 1]),
    ("pdf_text/pdfminer_naacl06-shinyama.pdf", [0]),  # two columns
    ("pdf_text/pysamples_crazyones-pdfa.pdf", [0]),
]


def load() -> str:
    return f"load {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"


def machine() -> str:
    model = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
         if line.startswith("model name")), "unknown",
    )  # fmt: skip
    kib = next(
        int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal:")
    )  # fmt: skip
    memory = kib / 2**20
    return f"{model}, {os.cpu_count()} CPUs, {memory:.1f} GiB, Python {platform.python_version()}"


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance, one numpy row at a time."""
    if not a or not b:
        return max(len(a), len(b))
    codes = np.array([ord(c) for c in b])
    steps = np.arange(len(b) + 1)
    previous = steps.copy()
    for i, char in enumerate(a, 1):
        substitute = previous[:-1] + (codes != ord(char))
        current = np.empty_like(previous)
        current[0] = i
        current[1:] = np.minimum(previous[1:] + 1, substitute)
        # Insertions run along the row: current[j] = min over k <= j of current[k] + (j - k).
        current = np.minimum.accumulate(current - steps) + steps
        previous = current
    return int(previous[-1])


def accuracy(reference: str, text: str, *, spaces: bool = False) -> float:
    join = " " if spaces else ""
    want, got = join.join(reference.split()), join.join(text.split())
    return 1 - edit_distance(want, got) / max(len(want), 1)


def files(suffixes: tuple[str, ...]) -> list[Path]:
    return sorted(
        p for p in DOCUMENTS.rglob("*")
        if p.suffix.lower() in suffixes and not p.name.endswith(".expected.txt")
    )  # fmt: skip


async def time_parser(parser: Parser, paths: list[Path]) -> dict[str, list[float]]:
    """Per suffix: [files read, pages, seconds] over the files the parser reads."""
    totals: dict[str, list[float]] = defaultdict(lambda: [0, 0, 0.0])
    for path in paths:
        start = time.perf_counter()
        try:
            document = await parser.parse(path, path.name)
        except DocumentError:
            continue
        row = totals[path.suffix.lower()]
        row[0] += 1
        row[1] += document.page_count
        row[2] += time.perf_counter() - start
    return totals


def report(name: str, totals: dict[str, list[float]]) -> None:
    for suffix, (count, pages, seconds) in sorted(totals.items()):
        print(f"  {name:<12} {suffix:<6} {count:>3.0f} files {pages:>5.0f} pages in "
              f"{seconds:6.2f} s = {pages / seconds:7.1f} pages/s, "
              f"{count / seconds:6.1f} files/s")  # fmt: skip


async def formats() -> None:
    print(f"\n== parse by format ({load()})")
    report("pypdfium2", await time_parser(PdfiumParser(), files((".pdf",))))
    report("python-docx", await time_parser(DocxParser(), files((".docx",))))
    native = NativeTikaParser(timeout_s=300)
    try:
        await native.parse(next(iter(files((".rtf",)))), "warm-up.rtf")  # worker start
        suffixes = (".pdf", ".docx", ".doc", ".ppt", ".pptx", ".xlsx", ".rtf", ".odt", ".epub")
        report("native Tika", await time_parser(native, files(suffixes)))
    finally:
        await native.aclose()


def worker_cpu(ocr: PageOcr) -> float:
    """User + system CPU seconds the OCR worker process has used so far (Linux /proc)."""
    total = 0
    for pid in ocr.worker_pids():
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime: fields 14 and 15
    return total / os.sysconf("SC_CLK_TCK")


async def ocr_speed(scale: float) -> None:
    print(f"\n== OCR of the eval's scanned PDFs at scale {scale} ({load()})")
    ocr = PageOcr(page_timeout_s=600, scale=scale)
    try:
        scans = files((".pdf",))
        scans = [p for p in scans if p.parent.name == "pdf_scanned"]
        await ocr.read(scans[0], "warm-up", [0])  # model load is not a page's cost
        pages, seconds, cpu, lines = 0, 0.0, 0.0, []
        for path in scans:
            import pypdfium2 as pdfium  # type: ignore[import-untyped]

            count = len(pdfium.PdfDocument(path))
            before, start = worker_cpu(ocr), time.perf_counter()
            result = await ocr.read(path, path.name, list(range(count)))
            elapsed, used = time.perf_counter() - start, worker_cpu(ocr) - before
            pages, seconds, cpu = pages + count, seconds + elapsed, cpu + used
            lines.append(f"    {path.name}: {count} pages, {elapsed:.1f} s wall, {used:.1f} s CPU, "
                         f"{sum(len(t) for t in result.texts.values())} chars")  # fmt: skip
        print("\n".join(lines))
        print(f"  OCR: {pages} pages in {seconds:.1f} s = {pages / seconds:.3f} pages/s wall, "
              f"{cpu / pages:.2f} CPU s/page ({load()})")  # fmt: skip
    finally:
        ocr.close()


async def ocr_accuracy(scale: float) -> None:
    print(f"\n== OCR character accuracy on rendered scans at scale {scale} ({load()})")
    ocr = PageOcr(page_timeout_s=600, scale=scale)
    reader = PdfiumParser()
    try:
        with tempfile.TemporaryDirectory() as folder:
            warm = scan_of(DOCUMENTS / ENGLISH[0][0], Path(folder) / "warm.pdf", pages=[0])
            await ocr.read(warm, warm.name, [0])  # model load is not a page's cost
            for language, sources in (("Chinese", CHINESE), ("English", ENGLISH)):
                scores, spaced, chars, seconds, cpu = [], [], 0, 0.0, 0.0
                for name, pages in sources:
                    source = DOCUMENTS / name
                    reference = (await reader.parse(source, source.name)).pages
                    scan = scan_of(source, Path(folder) / f"scan-{source.name}", pages=pages)
                    before, start = worker_cpu(ocr), time.perf_counter()
                    result = await ocr.read(scan, scan.name, list(range(len(pages))))
                    seconds += time.perf_counter() - start
                    cpu += worker_cpu(ocr) - before
                    for index, page in enumerate(pages):
                        want, got = reference[page].text, result.texts.get(index, "")
                        chars += len("".join(want.split()))
                        scores.append(accuracy(want, got))
                        spaced.append(accuracy(want, got, spaces=True))
                        print(f"    {name} page {page + 1}: {scores[-1]:.3f}")
                count = len(scores)
                line = (f"  {language}: {count} pages, {chars} characters; accuracy mean "
                        f"{np.mean(scores):.3f} (min {min(scores):.3f})")  # fmt: skip
                if language == "English":
                    line += f", with single spaces {np.mean(spaced):.3f}"
                print(line + f"; {count / seconds:.3f} pages/s, {cpu / count:.2f} CPU s/page")
    finally:
        ocr.close()


async def run(parts: list[str], scales: list[float]) -> None:
    print(f"machine: {machine()}; {load()}")
    if "formats" in parts:
        await formats()
    for scale in scales:
        if "ocr" in parts:
            await ocr_speed(scale)
        if "accuracy" in parts:
            await ocr_accuracy(scale)


def main() -> None:
    parser = argparse.ArgumentParser(description="Parse and OCR benchmark")
    parser.add_argument("--part", nargs="*", default=["formats", "ocr", "accuracy"])
    parser.add_argument("--scales", nargs="*", type=float, default=[2.0])
    args = parser.parse_args()
    if not DOCUMENTS.is_dir():
        sys.exit(f"eval data missing: {DOCUMENTS}")
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    asyncio.run(run(args.part, args.scales))


if __name__ == "__main__":
    main()
