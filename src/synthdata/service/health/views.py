"""Liveness and readiness probes (no authentication, outside /api/v1)."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from synthdata.service.core.problems import problem_response
from synthdata.service.deps import PlatformDep, limit_source

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up (says nothing about its dependencies)."""
    return {"status": "ok"}


# Per-source limit: each call runs checks against the database, queue and disk.
@router.get("/readyz", response_model=None, dependencies=[Depends(limit_source)])
async def readyz(platform: PlatformDep) -> JSONResponse | dict[str, object]:
    """Database, queue and storage all work; otherwise 503 naming the failing parts.

    Answers within about half a second whatever hangs; each part is "ok" or
    "unavailable" (why is in the log: driver errors name hosts and ports).
    """
    checks = await platform.readiness_async()
    failing = sorted(name for name, result in checks.items() if result != "ok")
    if failing:
        return problem_response(
            503,
            f"not ready: {', '.join(failing)} failing",
            kind="not-ready",
            extra={"checks": checks},
        )
    return {"status": "ok", "checks": checks}
