"""OCR of the PDF pages that have no text layer, page by page, each within a time limit.

The pages are rendered with PDFium and read by PP-OCRv4 (Chinese and English detection and
recognition models that ship inside the `rapidocr-onnxruntime` wheel, run by ONNX Runtime),
in a worker process: a page that runs past its time limit, or crashes the native code, costs
that page, not the file or the service. Only the pages that need it are read, as PrivateGPT's
PDF inspector does: OCR costs seconds a page where the text layer costs milliseconds.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from pathlib import Path

from ingest.parsers.pool import WorkerCrashed, WorkerPool, WorkerTaskError, WorkerTimeout

logger = logging.getLogger(__name__)


@dataclass
class OcrResult:
    """Recognised text by page index, and the pages that failed (with why)."""

    texts: dict[int, str] = field(default_factory=dict)
    failed: dict[int, str] = field(default_factory=dict)


class PageOcr:
    """Reads PDF pages from their rendered images, one worker process for all files.

    Args:
        page_timeout_s: the most one page may take; past it the page stays without text.
        scale: render scale over PDF points (2.0 = 144 dpi).
    """

    def __init__(self, *, page_timeout_s: float = 120.0, scale: float = 2.0) -> None:
        self.page_timeout_s = page_timeout_s
        self.scale = scale
        self._pool = WorkerPool(size=1)

    async def read(self, path: Path, filename: str, indices: list[int]) -> OcrResult:
        """OCR the pages at these 0-based indices; blank pages come back as ''."""
        result, where = OcrResult(), str(await asyncio.to_thread(path.resolve))
        for index in indices:
            args = {"path": where, "index": index, "scale": self.scale}
            try:
                reply = await self._pool.run("ocr_pdf_page", args, timeout_s=self.page_timeout_s)
            except WorkerTimeout:
                result.failed[index] = f"over {self.page_timeout_s:g} s"
            except (WorkerCrashed, WorkerTaskError) as exc:
                result.failed[index] = str(exc)
            else:
                result.texts[index] = str(reply["text"])
                continue
            why = result.failed[index]
            logger.warning("%s: OCR of page %d failed: %s", filename, index + 1, why)
        return result

    def worker_pids(self) -> list[int]:
        return self._pool.pids()

    def close(self) -> None:
        self._pool.close()
