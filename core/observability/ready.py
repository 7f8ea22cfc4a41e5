"""Readiness checks: each names one dependency and fails by raising.

`/readyz` runs a service's checks at once, each under a short timeout, and answers 503
naming the ones that failed, so an operator (or the orchestrator) sees which dependency is
down; `/healthz` stays liveness only and never calls out.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

import httpx
from sqlalchemy import text

from core.db.engine import Database

Probe = Callable[[], Awaitable[None]]


@dataclass(frozen=True)
class Check:
    """One dependency: its name in `/readyz` and how to probe it."""

    name: str
    probe: Probe


def database_check(db: Database) -> Check:
    """`SELECT 1` on the metadata store (SQLite or PostgreSQL)."""

    def select_one() -> None:
        with db.read() as conn:
            conn.execute(text("SELECT 1"))

    async def probe() -> None:
        await asyncio.to_thread(select_one)

    return Check("database", probe)


def http_check(
    name: str, url: str, *, headers: Mapping[str, str] | None = None, timeout_s: float = 2.0
) -> Check:
    """A GET on `url` must answer 2xx (Tika `/version`, Qdrant `/collections`, a `/healthz`)."""

    async def probe() -> None:
        async with httpx.AsyncClient(trust_env=False, timeout=timeout_s) as client:
            response = await client.get(url, headers=dict(headers or {}))
        response.raise_for_status()

    return Check(name, probe)


async def run_checks(checks: list[Check], timeout_s: float = 3.0) -> dict[str, str]:
    """Each check's result: "ok", or why it failed (the exception's class and message)."""

    async def one(check: Check) -> str:
        try:
            async with asyncio.timeout(timeout_s):
                await check.probe()
        except TimeoutError:
            return f"failed: no answer within {timeout_s:g} s"
        except Exception as exc:  # Boundary: any failure of a dependency means "not ready".
            return f"failed: {type(exc).__name__}: {str(exc)[:200]}"
        return "ok"

    results = await asyncio.gather(*(one(check) for check in checks))
    return {check.name: result for check, result in zip(checks, results, strict=True)}
