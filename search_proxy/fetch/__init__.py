"""Fetching the top search results' pages, behind an SSRF guard (off by default).

Result URLs come from the internet, so an attacker chooses them. `guard.UrlGuard` allows only
http(s) on ports 80/443, resolves the host and refuses it when any address is not global
(`addresses.AddressGuard`); `fetcher.PageFetcher` then connects to the checked address itself,
re-checks every redirect, caps bytes and time, and turns HTML into clean text with the ingest
service's parser. Entry point: `PageFetcher(settings.fetch).fetch_many(urls)`.
"""
