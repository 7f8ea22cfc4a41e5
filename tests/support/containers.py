"""Files that hold other files: e-mails with attachments, Word documents with embedded files."""

from __future__ import annotations

import re
import zipfile
from email.message import EmailMessage
from pathlib import Path

from tests.support import documents

DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
_PACKAGE_RELATION = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/package"
MAIL_BODY = "Hello Bob,\n\nthe figures are attached.\n\nAnn"
NOTES = "Plain attached notes about the 季度 figures."


def email_with_attachments(path: Path, folder: Path) -> Path:
    """An e-mail with a text body and three attachments: a PDF, a DOCX and a text file."""
    message = EmailMessage()
    message["Subject"] = "Quarterly numbers 季度"
    message["From"] = "Ann <ann@example.com>"
    message["To"] = "bob@example.com"
    message["Date"] = "Tue, 03 Nov 2026 10:00:00 +0000"
    message.set_content(MAIL_BODY)
    pdf = documents.text_pdf(folder / "figures.pdf").read_bytes()
    message.add_attachment(pdf, maintype="application", subtype="pdf", filename="figures.pdf")
    report = documents.sample_docx(folder / "report.docx").read_bytes()
    maintype, subtype = DOCX_TYPE.split("/")
    message.add_attachment(report, maintype=maintype, subtype=subtype, filename="报告.docx")
    message.add_attachment(NOTES, filename="notes.txt")
    path.write_bytes(bytes(message))
    return path


def docx_with_embedded_docx(path: Path, folder: Path) -> Path:
    """documents.sample_docx with another DOCX embedded as a package (Insert > Object)."""
    inner = documents.docx_with_text(folder / "inner.docx", ["Embedded budget line 42."])
    base = zipfile.ZipFile(documents.sample_docx(folder / "outer-base.docx"))
    with base, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for info in base.infolist():
            data = base.read(info.filename)
            if info.filename == "[Content_Types].xml":
                kind = f'<Default Extension="docx" ContentType="{DOCX_TYPE}"/>'
                data = data.replace(b"</Types>", kind.encode() + b"</Types>")
            elif info.filename == "word/_rels/document.xml.rels":
                link = (
                    f'<Relationship Id="rIdEmbedded1" Type="{_PACKAGE_RELATION}" '
                    'Target="embeddings/Budget_2026.docx"/>'
                )
                data = re.sub(rb"</Relationships>", (link + "</Relationships>").encode(), data)
            archive.writestr(info.filename, data)
        archive.writestr("word/embeddings/Budget_2026.docx", inner.read_bytes())
    return path
