"""The production ASGI app: settings from the environment, logs, traces and metrics on.

`synthdata serve` runs this factory in each API process
(`uvicorn synthdata.service.asgi:create_service_app --factory`).
"""

from __future__ import annotations

import os

from fastapi import FastAPI

from synthdata.jobs.supervisor import JOBS_ELSEWHERE
from synthdata.observability.logging import configure_logging
from synthdata.observability.tracing import configure_tracing
from synthdata.service import observe
from synthdata.service.app import create_app
from synthdata.service.core import faults
from synthdata.service.core.middleware import MiddlewareHook
from synthdata.service.core.settings import Settings, get_settings


def create_service_app() -> FastAPI:
    """Build the app for one server process."""
    settings = get_settings()
    configure_logging(settings.log_level, log_file=settings.log_file, batch_access_lines=True)
    configure_tracing("synthdata-api")
    workers = 0 if os.environ.get(JOBS_ELSEWHERE) else None
    return create_app(settings, workers=workers, hooks=service_hooks(settings))


def service_hooks(settings: Settings) -> list[MiddlewareHook]:
    """The middleware hooks `settings` turn on (a later hook wraps the earlier ones)."""
    hooks: list[MiddlewareHook] = []
    if settings.fault_injection:  # before observe: injected faults are counted like real ones
        hooks.append(faults.install)
    if settings.observability:
        hooks.append(observe.install)
    return hooks
