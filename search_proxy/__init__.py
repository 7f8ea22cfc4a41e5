"""The web-search proxy: one query fanned out to several engines, merged, deduplicated, filtered.

Its own service (`python -m search_proxy serve`, or `kb search-proxy serve`); the answer service
calls it over HTTP (`POST /v1/search`) so that only this process talks to external engines and
the sensitive-word filter sees every query before it leaves.
"""
