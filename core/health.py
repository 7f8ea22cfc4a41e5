"""`GET /healthz`: the process is up; it checks no dependency (that is `/readyz`'s job)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """Liveness probe for docker-compose and load balancers."""
    return {"status": "ok"}
