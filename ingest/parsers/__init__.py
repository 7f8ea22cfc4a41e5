"""Document parsers: a file in, a `ParsedDocument` (pages, headings, metadata) out.

In-process: `PdfiumParser` (.pdf, OCR of pages without text through `PageOcr`), `DocxParser`
(.docx), `EmailParser` (.eml), `PlainTextParser` (.txt), `MarkdownParser` (.md),
`HtmlParser` (.html). Every other format goes to Apache Tika: `NativeTikaParser` (Tika
compiled to native code, in worker processes: pool.py, worker.py) or, where a server is
configured, `TikaParser`. `ParserSet` (select.py) picks one per file name; all of them follow
the `Parser` protocol in base.py and raise `core.errors.DocumentError` subclasses.
"""
