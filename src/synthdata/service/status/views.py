"""`GET /status` (HTML for people) and `GET /status.json` (for machines).

Public: no authentication, outside /api/v1 like the probes. Both answer 200 whatever
the verdict (the page exists to say that something is down) and must not be cached
stale, so they carry `Cache-Control: no-cache`; the HTML also refreshes itself.
"""

from __future__ import annotations

from datetime import UTC, datetime

import jinja2
from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import HTMLResponse

from synthdata.observability.render_cache import RenderCache
from synthdata.service.core.platform import Platform
from synthdata.service.deps import PlatformDep, limit_source
from synthdata.service.status.components import describe_duration
from synthdata.service.status.models import ServiceStatus
from synthdata.service.status.service import RESOLVED_WINDOW, build_status

# Per-source limit: every view reads incidents and component health from the database.
router = APIRouter(tags=["status"], dependencies=[Depends(limit_source)])

NO_CACHE = {"Cache-Control": "no-cache"}

_templates = jinja2.Environment(
    loader=jinja2.PackageLoader("synthdata.service.status", "templates"),
    autoescape=True,  # incident titles come from alerts: they are text, never markup
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def _timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _ago(moment: datetime, now: datetime) -> str:
    return f"{describe_duration(now - moment)} ago"


_templates.filters["timestamp"] = _timestamp
_templates.filters["ago"] = _ago
_templates.filters["duration"] = describe_duration


def render_status_page(status: ServiceStatus) -> str:
    """The status page as HTML."""
    return _templates.get_template("status.html").render(
        status=status, resolved_days=RESOLVED_WINDOW.days
    )


class _StatusRenders:
    """The page and the document, each rendered at most once per `max_age` seconds.

    Both are public and read the database: under a flood from many addresses (each
    within its own rate limit) a render per request kept a thread busy and slowed
    every other request. Concurrent requests share one render (observability/
    render_cache.py), and a render serves again for `SYNTHDATA_STATUS_CACHE_SECONDS`.
    """

    def __init__(self, platform: Platform) -> None:
        seconds = platform.settings.status_cache_seconds
        self.page = RenderCache(
            lambda: render_status_page(build_status(platform)).encode(), seconds
        )
        self.document = RenderCache(
            lambda: build_status(platform).model_dump_json().encode(), seconds
        )


def _renders(request: Request, platform: Platform) -> _StatusRenders:
    state = request.app.state
    renders: _StatusRenders | None = getattr(state, "status_renders", None)
    if renders is None:  # two first requests may both build one: harmless
        renders = state.status_renders = _StatusRenders(platform)
    return renders


@router.get("/status", response_class=HTMLResponse)
async def status_page(request: Request, platform: PlatformDep) -> Response:
    """The public status page: overall banner, component health, open and recent incidents."""
    body = await _renders(request, platform).page.get_async()
    return Response(body, media_type="text/html; charset=utf-8", headers=NO_CACHE)


@router.get("/status.json", response_model=ServiceStatus)
async def status_document(request: Request, platform: PlatformDep) -> Response:
    """The same facts as the status page, as JSON."""
    body = await _renders(request, platform).document.get_async()
    return Response(body, media_type="application/json", headers=NO_CACHE)
