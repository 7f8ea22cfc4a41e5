"""What a file's first bytes say it is, checked before any parser trusts its name."""

from __future__ import annotations

from pathlib import Path

from core.errors import CorruptDocument, DocumentError, EmptyFile, EncryptedDocument, FileMissing

SNIFF_BYTES = 1024
PDF_MAGIC = b"%PDF"
ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")
OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# An encrypted OOXML file is an OLE2 compound file holding a stream of this name.
_ENCRYPTED_PACKAGE = "EncryptedPackage".encode("utf-16-le")


def read_head(path: Path, filename: str, size: int = SNIFF_BYTES) -> bytes:
    """The first `size` bytes; raises FileMissing or EmptyFile before any parser runs."""
    if not path.is_file():
        raise FileMissing(f"{filename}: file not found")
    with path.open("rb") as file:
        head = file.read(size)
    if not head:
        raise EmptyFile(f"{filename}: the file is empty (0 bytes)")
    return head


def is_pdf(head: bytes) -> bool:
    """True when %PDF appears in the first kilobyte (readers accept junk before it)."""
    return PDF_MAGIC in head[:SNIFF_BYTES]


def is_zip(head: bytes) -> bool:
    """True for a zip's local-file or empty-archive signature."""
    return head.startswith(ZIP_MAGICS)


def is_ole2(head: bytes) -> bool:
    """True for an OLE2 compound file (legacy Office, or encrypted OOXML)."""
    return head.startswith(OLE2_MAGIC)


def ole2_error(path: Path, filename: str) -> DocumentError:
    """Why an OLE2 file named like an Office Open XML one cannot be read in-process."""
    if _ENCRYPTED_PACKAGE in path.read_bytes():
        return EncryptedDocument(
            f"{filename}: password protected (an encrypted Office file); "
            "remove the password and upload it again"
        )
    return CorruptDocument(
        f"{filename}: a legacy binary Office file (e.g. Word 97-2003), not a DOCX; "
        "name it .doc so that Tika reads it, or save it as .docx"
    )


def check_content(path: Path, filename: str, suffix: str) -> None:
    """Refuse a .pdf or .docx whose bytes are something else; other types pass through."""
    head = read_head(path, filename)
    if suffix == ".pdf" and not is_pdf(head):
        raise CorruptDocument(f"{filename}: not a PDF (no %PDF header in the first 1 KB)")
    if suffix == ".docx" and not is_zip(head):
        if is_ole2(head):
            raise ole2_error(path, filename)
        raise CorruptDocument(f"{filename}: not a DOCX (a DOCX is a zip package)")
