"""Who may read `/metrics` on the API port.

The exposition names customers, request counts and the busiest source addresses:
it is for Prometheus, not for the internet. Two rules, chosen by one setting:

- `SYNTHDATA_METRICS_TOKEN` set: every scrape presents `Authorization: Bearer
  <token>` (Prometheus' `authorization` block, a ServiceMonitor's
  `authorization.credentials`). A wrong token counts towards the source's lockout,
  like a wrong API key.
- not set (the embedded default): only this machine may scrape, i.e. a loopback
  peer whose request carries no forwarding header. A local reverse proxy that
  relays outside requests adds `X-Forwarded-For` (or `Forwarded`), so what it
  relays is refused even though its connection is loopback. This machine's own
  scraper is not held to the per-source limits: with nothing to guess there is
  nothing to lock out, and a burst of bad API keys from the same address (another
  local client) must not blind monitoring.

We chose a token on the API port over a second metrics port: it needs no second
listener in each `serve --workers N` process, nor another port in the Service,
the probes and the Compose file, and the default on one machine needs no setup.
"""

from __future__ import annotations

import hmac
import ipaddress
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from synthdata.service.core.problems import Problem
from synthdata.service.deps import PlatformDep, limit_source, refuse_credential, source_address

_FORWARDING_HEADERS = (b"x-forwarded-for", b"forwarded", b"x-real-ip")
_scrape_bearer = HTTPBearer(auto_error=False, scheme_name="MetricsToken")


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _relayed(request: Request) -> bool:
    return any(name in _FORWARDING_HEADERS for name, _ in request.scope.get("headers") or ())


async def require_scrape_access(
    request: Request,
    platform: PlatformDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_scrape_bearer)],
) -> None:
    """Let the scrape through, or answer 401 (wrong token), 403 (not local) or 429."""
    expected = platform.settings.metrics_token
    if not expected and _is_loopback(source_address(request)) and not _relayed(request):
        return
    source = await limit_source(request, platform)
    if expected:
        presented = credentials.credentials if credentials else ""
        if hmac.compare_digest(presented.encode(), expected.encode()):
            return
        await refuse_credential(platform, source, "unknown" if presented else "missing", request)
        raise Problem(
            401,
            "a valid metrics scrape token is required (Authorization: Bearer)",
            kind="unauthenticated",
            headers={"WWW-Authenticate": "Bearer"},
        )
    raise Problem(
        403,
        "/metrics answers this machine only; set SYNTHDATA_METRICS_TOKEN to scrape it "
        "from elsewhere (docs/metrics.md)",
        kind="forbidden",
    )
