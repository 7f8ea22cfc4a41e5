"""Builders for small test documents, made at test time (no binary fixtures in the repo)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import docx
from docx.enum.text import WD_BREAK
from reportlab.lib.pdfencrypt import StandardEncryption
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

# Known text per page of `text_pdf`: each line is drawn on its own baseline.
PDF_PAGES = [
    ["Page one alpha", "second line of page one"],
    ["Page two beta"],
    ["Page three gamma", "with a closing line"],
]
CJK_TEXT = "中文知识库测试文本"
DOCX_TITLE = "Quarterly Report"


def text_pdf(
    path: Path, pages: list[list[str]] = PDF_PAGES, *, title: str | None = "Known Title"
) -> Path:
    """A text PDF with one drawString per line; `title=None` leaves ReportLab's 'untitled'."""
    pdf = canvas.Canvas(str(path))
    if title is not None:
        pdf.setTitle(title)
    pdf.setAuthor("Ann Author")
    for lines in pages:
        for row, line in enumerate(lines):
            pdf.drawString(72, 750 - 20 * row, line)
        pdf.showPage()
    pdf.save()
    return path


def cjk_pdf(path: Path, text: str = CJK_TEXT) -> Path:
    """Chinese text in the non-embedded Adobe CID font STSong-Light."""
    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    pdf = canvas.Canvas(str(path))
    pdf.setFont("STSong-Light", 14)
    pdf.drawString(72, 750, text)
    pdf.showPage()
    pdf.save()
    return path


def image_only_pdf(path: Path, pages: int = 2) -> Path:
    """Pages with shapes and no text at all: what a scan looks like to a text extractor."""
    pdf = canvas.Canvas(str(path))
    for _ in range(pages):
        pdf.rect(100, 100, 200, 200, fill=1)
        pdf.circle(300, 500, 50)
        pdf.showPage()
    pdf.save()
    return path


def encrypted_pdf(path: Path, user_password: str = "secret") -> Path:
    """An RC4-encrypted PDF; an empty user password opens without asking, like many real ones."""
    encryption = StandardEncryption(user_password, ownerPassword="owner-secret")
    pdf = canvas.Canvas(str(path), encrypt=encryption)
    pdf.drawString(72, 750, "behind a password")
    pdf.showPage()
    pdf.save()
    return path


def truncated_pdf(path: Path) -> Path:
    """A text PDF cut in half: no xref, no trailer, half its objects."""
    whole = text_pdf(path.with_name("whole-" + path.name)).read_bytes()
    path.write_bytes(whole[: len(whole) // 2])
    return path


def sample_docx(path: Path) -> Path:
    """Title, two headings, paragraphs, a 2x2 table, then a page break and an appendix."""
    document = docx.Document()
    document.core_properties.title = DOCX_TITLE
    document.core_properties.author = "Bo Writer"
    document.add_heading("Introduction", level=1)
    document.add_paragraph("The first paragraph.")
    document.add_heading("Details", level=2)
    document.add_paragraph("Numbers follow.")
    table = document.add_table(rows=2, cols=2)
    for row, cells in enumerate((("Name", "Value"), ("alpha", "1"))):
        for column, text in enumerate(cells):
            table.cell(row, column).text = text
    document.add_paragraph("After the table.").add_run().add_break(WD_BREAK.PAGE)
    document.add_heading("Appendix", level=1)
    document.add_paragraph("Last words.")
    document.save(str(path))
    return path


def docx_with_text(path: Path, paragraphs: list[str]) -> Path:
    """A DOCX of plain paragraphs."""
    document = docx.Document()
    for paragraph in paragraphs:
        document.add_paragraph(paragraph)
    document.save(str(path))
    return path


DOCX_PAGES = [
    "Introduction\n\nThe first paragraph.\n\nDetails\n\nNumbers follow.\n\n"
    "Name | Value\nalpha | 1\n\nAfter the table.",
    "Appendix\n\nLast words.",
]


def _package(path: Path, extra: dict[str, bytes] | None = None) -> zipfile.ZipFile:
    """A minimal valid WordprocessingML package, left open for more members."""
    sample = zipfile.ZipFile(sample_docx(path.with_name("base-" + path.name)))
    archive = zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED)
    with sample:
        for info in sample.infolist():
            archive.writestr(info.filename, sample.read(info.filename))
    for name, data in (extra or {}).items():
        archive.writestr(name, data)
    return archive


def zip_bomb_docx(path: Path, *, member_bytes: int) -> Path:
    """A real DOCX plus one member of `member_bytes` zeros, deflated while streaming."""
    chunk = bytes(1024 * 1024)
    with _package(path) as archive, archive.open("word/media/zeros.bin", "w") as member:
        remaining = member_bytes
        while remaining > 0:
            member.write(chunk[: min(remaining, len(chunk))])
            remaining -= len(chunk)
    return path


def many_entries_docx(path: Path, entries: int) -> Path:
    """A real DOCX padded with `entries` empty members."""
    with _package(path) as archive:
        for index in range(entries):
            archive.writestr(f"customXml/pad{index}.xml", b"")
    return path


def docx_without_document_part(path: Path) -> Path:
    """A zip that is no Word package: it lacks word/document.xml."""
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("[Content_Types].xml", b"<Types/>")
        archive.writestr("readme.txt", b"not a document")
    return path


def ole2_encrypted_docx(path: Path) -> Path:
    """The start of an OLE2 compound file that names an EncryptedPackage stream."""
    header = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504)
    path.write_bytes(header + "EncryptedPackage".encode("utf-16-le") + bytes(64))
    return path


def write_text(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def empty_file(path: Path) -> Path:
    path.write_bytes(b"")
    return path
