"""The FastAPI application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from synthdata.observability.instrumentation import instrument_app
from synthdata.observability.tracing import configure_tracing
from synthdata.service.admin.views import router as admin_router
from synthdata.service.apidocs.contract import install_contract
from synthdata.service.apidocs.views import install_api_docs
from synthdata.service.core.availability import install_database_errors
from synthdata.service.core.body_limit import install_body_limit
from synthdata.service.core.middleware import MiddlewareHook, install_middleware
from synthdata.service.core.platform import Platform
from synthdata.service.core.problems import install_problem_handlers
from synthdata.service.core.proxies import install_trusted_proxies
from synthdata.service.core.settings import Settings, get_settings
from synthdata.service.customers.views import router as customers_router
from synthdata.service.datasets.upload import OVERHEAD as UPLOAD_OVERHEAD
from synthdata.service.datasets.views import router as datasets_router
from synthdata.service.deployments.service import record_process_start
from synthdata.service.health.views import router as health_router
from synthdata.service.incidents.escalation import Escalator
from synthdata.service.incidents.views import router as incidents_router
from synthdata.service.incidents.views import webhook_router as alerts_router
from synthdata.service.jobs.views import router as jobs_router
from synthdata.service.models.views import router as models_router
from synthdata.service.status.views import router as status_router
from synthdata.service.usage.views import router as usage_router

API_PREFIX = "/api/v1"

DESCRIPTION = """\
Turn a real table into a faithful, privacy-safe synthetic one.

Authenticate with `X-API-Key: <key>` or `Authorization: Bearer <key>`.
Errors are JSON problem documents (`type`, `title`, `status`, `detail`).
Upload a table (`POST /datasets`), then `POST /jobs` with `dataset_id` (or a
trained `model_id`) and poll the job until it has `succeeded`; download
`/jobs/{id}/result`. Send an `Idempotency-Key` header to retry safely.
"""


def create_app(
    settings: Settings | None = None,
    *,
    workers: int | None = None,
    hooks: list[MiddlewareHook] | None = None,
) -> FastAPI:
    """Build the app: migrate the database, connect the queue, mount the routers.

    `workers` job-consumer threads run inside the app while it is up (default:
    `SYNTHDATA_SERVE_WORKERS` with the local queue, none with Redis, where
    `synthdata worker` consumes). `hooks` may add middleware (observability).
    With the `OTEL_*` variables set, requests and their statements are traced.
    """
    settings = settings or get_settings()
    configure_tracing("synthdata-api")  # before the engine is made, so that it is traced
    platform = Platform.build(settings)
    if workers is None:
        workers = settings.serve_workers if settings.queue == "local" else 0

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        record_process_start(platform.sessions, "api", settings=settings)
        platform.start(workers=workers)
        escalator = Escalator(platform.sessions, settings)  # overdue incidents page/post
        escalator.start()
        try:
            yield
        finally:
            escalator.stop()
            platform.stop()

    app = FastAPI(
        title="Inferloop Synthetic Data",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=None,  # FastAPI's page loads Swagger UI from a CDN: ours is offline
        redoc_url=None,
    )
    app.state.platform = platform
    install_problem_handlers(app)
    install_database_errors(app, platform.database)  # unreachable database: 503, not 500
    install_body_limit(  # inside the request id: a 413 carries it too
        app,
        settings.max_request_body_bytes,
        {("POST", f"{API_PREFIX}/datasets"): settings.max_upload_bytes + UPLOAD_OVERHEAD},
    )
    install_middleware(app, [*(hooks or []), instrument_app])
    install_trusted_proxies(app, settings)  # outermost: every layer sees the real caller
    # The probes first: routes are tried in order, and probes come often.
    app.include_router(health_router)
    # Each router is mounted on the app itself (no enclosing /api/v1 router): every
    # nesting level is walked on every request, and routing is on the hot path.
    for router in (
        customers_router,
        datasets_router,
        models_router,
        jobs_router,
        usage_router,
        admin_router,
        incidents_router,
        alerts_router,
    ):
        app.include_router(router, prefix=API_PREFIX)
    app.include_router(status_router)
    install_api_docs(app, api_prefix=API_PREFIX)  # /api/v1/docs, /docs and the front page /
    install_contract(app, settings)  # the settings' limits in the OpenAPI document
    return app
