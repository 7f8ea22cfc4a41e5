"""Text out of markup: decoding document bytes, (X)HTML to pages with headings and tables.

Shared by ingest (HTML files, Tika's XHTML) and the search proxy (fetched web pages), so both
read a page the same way.
"""
