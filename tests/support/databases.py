"""The real PostgreSQL and Redis that run on the development and CI machines.

Each test gets its own PostgreSQL database (created from template0, dropped afterwards) and
its own Redis key prefix, so tests never see each other's state. Where a server is missing
the tests that need it skip with the reason, except under CI (`CI=true`), where a missing
server is a failure: CI must not pass without having run them.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest
import redis

# Read before the autouse fixture clears our own KB_* variables.
POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _unavailable(what: str, exc: Exception) -> None:
    message = f"{what} is not reachable ({exc}); set TEST_POSTGRES_URL / TEST_REDIS_URL"
    if IN_CI:
        pytest.fail(f"CI needs it: {message}")
    pytest.skip(message)


def _admin() -> psycopg.Connection[tuple[object, ...]]:
    try:
        return psycopg.connect(POSTGRES_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        _unavailable(f"PostgreSQL at {POSTGRES_URL}", exc)
        raise


@contextmanager
def postgres_database() -> Iterator[str]:
    """A fresh, empty database; yields its URL and drops it (with its connections) after."""
    name = f"kb_test_{uuid.uuid4().hex[:12]}"
    with _admin() as admin:
        admin.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
    base, _, _ = POSTGRES_URL.rpartition("/")
    try:
        yield f"{base}/{name}"
    finally:
        with _admin() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def redis_prefix() -> str:
    """A key prefix of one's own on the shared Redis (checked reachable)."""
    try:
        redis.Redis.from_url(REDIS_URL, socket_timeout=5).ping()
    except redis.RedisError as exc:
        _unavailable(f"Redis at {REDIS_URL}", exc)
    return f"kbtest:{uuid.uuid4().hex[:12]}:"
