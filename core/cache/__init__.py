"""A small key-value cache with expiry: in-process (embedded) or Redis (services mode).

Answers are cached through it (`serving.chat.cache`); one contract suite runs on both
backends (tests/core/test_cache_contract.py). Open one with `core.cache.factory.open_cache`.
"""
