"""Plain text, Markdown, HTML and the shared XHTML reader beyond the contract."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest

from core.errors import CorruptDocument, DocumentError
from core.markup.decode import decode_text
from core.markup.xhtml import TIKA_PAGE_CLASSES, parse_xhtml
from ingest.parsers.html import HtmlParser
from ingest.parsers.text import PlainTextParser, markdown_headings
from tests.support import documents


@pytest.mark.parametrize(
    ("data", "text"),
    [
        (codecs.BOM_UTF8 + "naïve".encode(), "naïve"),
        (codecs.BOM_UTF16_LE + "中文\r\n".encode("utf-16-le"), "中文\n"),
        (codecs.BOM_UTF16_BE + "ok".encode("utf-16-be"), "ok"),
        ("plain ünïcode".encode(), "plain ünïcode"),
        (b"caf\xe9 \x93quoted\x94", "caf\u00e9 \u201cquoted\u201d"),  # cp1252
        (b"\x81\x8d odd", "\x81\x8d odd"),  # bytes cp1252 leaves undefined: latin-1
    ],
)
def test_decoding_order(data: bytes, text: str) -> None:
    assert decode_text(data, "f.txt") == text


def test_nul_bytes_without_a_bom_are_binary() -> None:
    with pytest.raises(CorruptDocument, match="binary data"):
        decode_text(b"PK\x03\x04\x00\x00", "archive.txt")


async def test_whitespace_only_text_has_no_text(tmp_path: Path) -> None:
    path = documents.write_text(tmp_path / "blank.txt", " \n\t\n")
    with pytest.raises(DocumentError, match="contains no text"):
        await PlainTextParser().parse(path, path.name)


def test_markdown_headings_skip_code_and_hashtags() -> None:
    text = "#hashtag\n# One #\n~~~\n## fenced\n~~~\n   ### Three\n####### seven\n"
    headings = markdown_headings(text)
    assert [(h.title, h.level) for h in headings] == [("One", 1), ("Three", 3)]
    assert all(text[h.offset :].startswith(h.title) for h in headings)


async def test_html_meta_charset_decides_the_encoding(tmp_path: Path) -> None:
    html = '<html><head><meta charset="gbk"><title>标题</title></head><body><p>正文</p></body>'
    path = tmp_path / "page.html"
    path.write_bytes(html.encode("gbk"))
    document = await HtmlParser().parse(path, path.name)
    assert (document.title, document.pages[0].text) == ("标题", "正文")


async def test_html_without_visible_text_says_so(tmp_path: Path) -> None:
    path = documents.write_text(tmp_path / "empty.htm", "<html><script>x()</script></html>")
    with pytest.raises(DocumentError, match="no visible text"):
        await HtmlParser().parse(path, path.name)


def test_html_blocks_breaks_lists_and_nested_tables() -> None:
    content = parse_xhtml(
        "<body>loose <b>text</b><div>a<br>b</div><ul><li>one</li><li>two</li></ul>"
        "<table><tr><td><p>x</p><p>y</p></td><td><table><tr><td>n1</td><td>n2</td></tr>"
        "</table></td></tr></table><pre>  keep\n   this</pre></body>"
    )
    assert content.pages[0].text == (
        "loose text\n\na\nb\n\none\n\ntwo\n\nx y | n1 | n2\n\nkeep\n   this"
    )


def test_tika_page_divs_become_pages_and_blank_pages_count() -> None:
    xhtml = (
        '<html xmlns="http://www.w3.org/1999/xhtml"><head><title>T</title>'
        '<meta name="dc:creator" content="Ann"/></head><body>'
        '<div class="page"><p>line one\nline two\n</p>\n<p>next</p></div>\n'
        '<div class="page"><p/></div>\n<div class="page"><h1>Three</h1></div></body></html>'
    )
    content = parse_xhtml(xhtml, keep_newlines=True, page_classes=TIKA_PAGE_CLASSES)
    assert [page.text for page in content.pages] == ["line one\nline two\n\nnext", "", "Three"]
    assert content.pages[2].headings[0].title == "Three"
    assert (content.title, content.meta) == ("T", {"dc:creator": "Ann"})


def test_page_divs_are_ordinary_divs_for_web_pages() -> None:
    content = parse_xhtml('<div class="page">a</div><div class="page">b</div>')
    assert [page.text for page in content.pages] == ["a\n\nb"]


def test_slides_and_sheets_are_pages_and_nested_page_divs_are_not() -> None:
    # A .ppt slide holds master and slide-content divs; a .pptx slide's notes follow its div.
    xhtml = (
        '<body><div class="slideShow"><div class="slide"><div class="slide-master-content"/>'
        '<div class="slide-content"><p>one</p></div></div>'
        '<div class="slide"><div class="slide-content"><p>two</p></div></div></div>'
        '<div class="slide-content"><p>three</p></div><p>notes of three</p>'
        '<div class="sheet"><h1>Sheet1</h1><table><tr><td>a</td><td>1</td></tr></table></div>'
        "</body>"
    )
    content = parse_xhtml(xhtml, keep_newlines=True, page_classes=TIKA_PAGE_CLASSES)
    assert [page.text for page in content.pages] == [
        "one",
        "two",
        "three\n\nnotes of three",
        "Sheet1\n\na | 1",
    ]
