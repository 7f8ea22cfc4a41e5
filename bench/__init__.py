"""Benchmarks, run by hand (never in CI): ingestion, query latency."""
