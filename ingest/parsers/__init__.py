"""Document parsers: a file in, a `ParsedDocument` (pages, headings, metadata) out.

In-process: `PdfiumParser` (.pdf), `DocxParser` (.docx), `PlainTextParser` (.txt),
`MarkdownParser` (.md), `HtmlParser` (.html). `TikaParser` sends every other format to an
Apache Tika 3.x server. `ParserSet` (select.py) picks one per file name; all of them follow
the `Parser` protocol in base.py and raise `core.errors.DocumentError` subclasses.
"""
