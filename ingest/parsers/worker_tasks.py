"""The tasks a worker process runs (see worker.py): native Tika extraction and page OCR.

Imports stay inside the functions: a worker loads only the native library its task needs.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from ingest.parsers.reading_order import Box, page_text

# Pages rendered larger than this (in pixels, longest side) are scaled down first: a "bomb"
# PDF page of 200 x 200 inches must not allocate gigabytes.
MAX_RENDER_SIDE = 4000
# Rendered pages whose darkest pixel is this light are blank paper: nothing to read.
BLANK_LEVEL = 250


def tika_extract(cache: dict[str, Any], path: str, name: str, max_chars: int) -> dict[str, Any]:
    """Tika's XHTML and metadata for the file at `path`, called `name` by its user."""
    extractor = cache.get("tika")
    if extractor is None:
        from iscc_tika import Extractor

        extractor = Extractor().set_xml_output(True).set_extract_string_max_length(max_chars)
        cache["tika"] = extractor
    with tempfile.TemporaryDirectory(prefix="kb-tika-") as folder:
        # Uploads are stored without their names; Tika detects some types (.csv, .eml) by
        # the name, and records it, so the file is shown to it under a name with its suffix.
        link = Path(folder) / ("document" + Path(name).suffix.lower()[:16])
        link.symlink_to(Path(path).resolve())
        xhtml, metadata = extractor.extract_file_to_string(str(link))
    return {"xhtml": xhtml, "metadata": metadata}


def ocr_pdf_page(cache: dict[str, Any], path: str, index: int, scale: float) -> dict[str, Any]:
    """Render page `index` of a PDF and recognise its text (Chinese and English)."""
    import pypdfium2 as pdfium  # type: ignore[import-untyped]

    pdf = pdfium.PdfDocument(path)
    try:
        page = pdf[index]
        width, height = page.get_size()
        scale = min(scale, MAX_RENDER_SIDE / max(width, height, 1.0))
        image = page.render(scale=scale, grayscale=True).to_numpy()
        page.close()
    finally:
        pdf.close()
    if image.size == 0 or int(image.min()) >= BLANK_LEVEL:
        return {"text": "", "blank": True, "lines": 0}
    boxes = _recognise(cache, image)
    return {"text": page_text(boxes, float(image.shape[1])), "blank": False, "lines": len(boxes)}


def _recognise(cache: dict[str, Any], image: Any) -> list[Box]:
    engine = cache.get("ocr")
    if engine is None:
        from rapidocr_onnxruntime import RapidOCR

        engine = cache["ocr"] = RapidOCR()
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    found, _ = engine(image)
    boxes: list[Box] = []
    for corners, text, _score in found or []:
        xs = [float(point[0]) for point in corners]
        ys = [float(point[1]) for point in corners]
        boxes.append(Box(min(xs), min(ys), max(xs), max(ys), str(text)))
    return boxes
