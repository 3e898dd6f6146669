"""`GET /status` (HTML for people) and `GET /status.json` (for machines).

Public: no authentication, outside /api/v1 like the probes. Both answer 200 whatever
the verdict (the page exists to say that something is down) and must not be cached
stale, so they carry `Cache-Control: no-cache`; the HTML also refreshes itself.
"""

from __future__ import annotations

from datetime import UTC, datetime

import jinja2
from fastapi import APIRouter, Depends, Response
from fastapi.responses import HTMLResponse

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


@router.get("/status", response_class=HTMLResponse)
def status_page(platform: PlatformDep) -> HTMLResponse:
    """The public status page: overall banner, component health, open and recent incidents."""
    return HTMLResponse(render_status_page(build_status(platform)), headers=NO_CACHE)


@router.get("/status.json")
def status_document(platform: PlatformDep, response: Response) -> ServiceStatus:
    """The same facts as the status page, as JSON."""
    response.headers.update(NO_CACHE)
    return build_status(platform)
