"""Liveness and readiness probes (no authentication, outside /api/v1)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from synthdata.service.core.problems import problem_response
from synthdata.service.deps import PlatformDep

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up (says nothing about its dependencies)."""
    return {"status": "ok"}


@router.get("/readyz", response_model=None)
async def readyz(platform: PlatformDep) -> JSONResponse | dict[str, object]:
    """Database, queue and storage all work; otherwise 503 naming the failing parts."""
    checks = await run_in_threadpool(platform.readiness)
    failing = sorted(name for name, result in checks.items() if result != "ok")
    if failing:
        return problem_response(
            503,
            f"not ready: {', '.join(failing)} failing",
            kind="not-ready",
            extra={"checks": checks},
        )
    return {"status": "ok", "checks": checks}
