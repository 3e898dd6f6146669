"""HTTP observability: request metrics, the access log and the `/metrics` endpoint.

`RequestRecorder` is told of every finished request by the request-id middleware
(no middleware layer of its own: each layer costs every request). It counts the
request (through `RequestTally`, in batches) under its route template
(`/api/v1/jobs/{job_id}`, never the raw path; unknown paths are `unmatched`) and
writes one access-log line with `response_time` in milliseconds, the field the
runbook's slow-request query reads; a request that raised gets its exception on that
same line (`request_errors`).
"""

from __future__ import annotations

import asyncio
import atexit
import contextvars
import os
import weakref
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Response, params
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    CollectorRegistry,
    generate_latest,
)
from starlette.routing import Match, Route
from starlette.types import Scope

from synthdata.observability import metrics
from synthdata.observability.exposition import LocalExposition, MergedExposition
from synthdata.observability.heavy_hitters import HeavyHitters, WindowedHeavyHitters
from synthdata.observability.logging import (
    access_json,
    batching_loop,
    get_logger,
    trace_fields,
    write_access_lines,
)
from synthdata.observability.render_cache import RenderCache
from synthdata.observability.request_errors import attached, error_fields
from synthdata.observability.request_tally import (
    DEFAULT_CUSTOMER_SERIES,
    RequestTally,
    customer_series,
    fold_all,
)

log = get_logger("synthdata.observability")

UNMATCHED = "unmatched"

# A finished request: its ASGI scope, status, seconds taken and trace ids (or None).
Finished = tuple[Scope, int, float, dict[str, str] | None]


class RequestRecorder:
    """Metrics and one access-log line per finished HTTP request.

    Requests to `quiet_routes` (route templates) are counted but logged only when
    they fail (status >= 400): a healthy probe's line says nothing.

    In the server the request's own path only queues its scope, status, time and
    trace ids; the requests that finish in one event-loop pass (all of them, under
    load) are then recorded together when the pass ends: route templates, counts
    and access lines in one warm loop, the lines in one write. Done on each request's path,
    between the request's own work, the same code cost half as much again
    (docs/metrics.md).
    """

    def __init__(
        self,
        talkers: WindowedHeavyHitters | None = None,
        quiet_routes: frozenset[str] = frozenset(),
        customers: HeavyHitters | None = None,
    ) -> None:
        self.tally = RequestTally(talkers, customers)
        self.quiet_routes = quiet_routes
        self._finished: list[Finished] = []  # of the current loop pass
        self._loop: asyncio.AbstractEventLoop | None = None
        _recorders.add(self)

    def __call__(self, scope: Scope, status: int, seconds: float) -> None:
        finished = (scope, status, seconds, trace_fields())  # its span is current only now
        loop = batching_loop()
        if loop is None:
            self.record([finished])
            return
        if loop is not self._loop:  # the first request on this loop (or a new loop)
            self.record_pending()
            self._loop = loop
        if not self._finished:  # in a context of its own, not the first request's
            loop.call_soon(self.record_pending, context=contextvars.Context())
        self._finished.append(finished)

    def record_pending(self) -> None:
        """Record the requests queued in this loop pass (also run at exit)."""
        finished, self._finished = self._finished, []
        self.record(finished)

    def record(self, finished: list[Finished]) -> None:
        """Count and log finished requests; one that cannot be recorded spoils no other."""
        lines = []
        for scope, status, seconds, trace in finished:
            try:
                line = self._record_one(scope, status, seconds, trace)
            except Exception:  # a bug here must not cost the other requests their lines
                state = scope.get("state") or {}
                log.exception(
                    "could not record a finished request",
                    request_id=state.get("request_id"),
                    **(trace or {}),
                )
                continue
            if line is not None:
                lines.append(line)
        write_access_lines(lines)

    def _record_one(
        self, scope: Scope, status: int, seconds: float, trace: dict[str, str] | None
    ) -> bytes | None:
        endpoint = route_template(scope)
        method = scope.get("method", "GET")
        client = scope.get("client")
        source = client[0] if client else "unknown"
        state: dict[str, Any] = scope.get("state") or {}
        customer_id = state.get("customer_id")
        # The histogram times the service's work: a refusal the tarpit held on purpose
        # counts without its hold (service/deps.py); the access log keeps the whole time.
        served = max(0.0, seconds - float(state.get("tarpit_seconds", 0.0)))
        self.tally.add((method, endpoint, status, served, source, customer_id))
        if status < 400 and endpoint in self.quiet_routes:
            return None
        event = {
            "request_id": state.get("request_id"),
            "http.request.method": method,
            "url.path": scope.get("path", ""),
            "http.route": endpoint,
            "http.response.status_code": status,
            "response_time": round(seconds * 1000, 3),
            "customer_id": customer_id,
            "source.ip": source,
        }
        if trace:
            event.update(trace)
        auth_failure = state.get("auth_failure")
        if auth_failure:  # counted in auth_failures_total under this reason
            event["auth_failure"] = auth_failure
        error = attached(state)
        if error is not None:  # this line is the failure's one ERROR line
            event.update(error_fields(error))
            return access_json("error", event)
        shed = state.get("load_shed")
        if shed and status >= 500:
            # Refused on purpose (the circuit breaker): counted apart so that error
            # alerts stop firing once the mitigation works, and logged like a 429.
            metrics.http_requests_shed_total.labels(method, endpoint, shed).inc()
            event["load_shed"] = shed
            return access_json("warning", event)
        level = "error" if status >= 500 else "warning" if status >= 400 else "info"
        return access_json(level, event)


_recorders: weakref.WeakSet[RequestRecorder] = weakref.WeakSet()


@atexit.register
def _record_all_pending() -> None:
    for recorder in list(_recorders):
        recorder.record_pending()


def route_template(scope: Scope) -> str:
    """The matched route's template with its router prefix, or `unmatched`.

    A route inside an included router knows only its own path ("/jobs/{job_id}");
    the prefix ("/api/v1") is the static part of the request path in front of it.
    """
    route = scope.get("route")
    template = getattr(route, "path", None)
    if not template:
        return _plain_route(scope) or UNMATCHED
    path = scope.get("path", "")
    regex = getattr(route, "path_regex", None)
    if regex is None or regex.match(path):
        return str(template)
    for index, char in enumerate(path):
        if char == "/" and index and regex.match(path[index:]):
            return path[:index] + str(template)
    return str(template)


def _plain_route(scope: Scope) -> str | None:
    """The template of a plain Starlette route (the OpenAPI document, the docs page).

    FastAPI's router records only its own routes in `scope["route"]`; the few plain
    routes at the top of the app are matched again here, so they are not `unmatched`.
    """
    router = getattr(scope.get("app"), "router", None)
    for route in getattr(router, "routes", ()):
        if isinstance(route, Route) and route.matches(scope)[0] is Match.FULL:
            return route.path
    return None


_merged: dict[str, MergedExposition] = {}  # one per directory: it caches decoded keys
_scrape_time = CollectorRegistry()
_scrape_time.register(metrics.scrape_time)
# One process: the contract's series rendered directly, the rest as prometheus_client does.
_rest = CollectorRegistry()
for _collector in (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR, metrics.scrape_time):
    _rest.register(_collector)
for _gauge in metrics.GAUGE_METRICS:
    _rest.register(_gauge)
_local = LocalExposition(metrics.SERIES_METRICS, _rest)


def metrics_payload() -> bytes:
    """The exposition text: every process's series when running multi-process."""
    _record_all_pending()  # requests answered in this event-loop pass, before the scrape
    return render_payload()


def render_payload() -> bytes:
    """The exposition text, from any thread (requests still queued on a loop excepted)."""
    fold_all()  # this process's pending request counts
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        if directory not in _merged:
            _merged[directory] = MergedExposition(directory)
        return _merged[directory].render() + generate_latest(_scrape_time)
    return _local.render()


def install_observability(
    app: FastAPI,
    quiet_routes: frozenset[str] = frozenset(),
    *,
    max_customers: int = DEFAULT_CUSTOMER_SERIES,
    cache_seconds: float = 1.0,
    dependencies: Sequence[params.Depends] = (),
) -> None:
    """Middleware hook: request metrics and access log, plus `GET /metrics`.

    The recorder is called by the request-id middleware that `install_middleware`
    adds around everything else. `dependencies` guard `/metrics` (who may scrape);
    renders are shared between scrapes for `cache_seconds` (observability/render_cache.py),
    and at most `max_customers` customers get series of their own.
    """
    renders = RenderCache(render_payload, cache_seconds)

    async def metrics_endpoint() -> Response:
        _record_all_pending()  # on the loop that queued them; the render runs on a thread
        return Response(await renders.get_async(), media_type=CONTENT_TYPE_LATEST)

    app.add_api_route(
        "/metrics", metrics_endpoint, include_in_schema=False, dependencies=list(dependencies)
    )
    app.state.request_observer = RequestRecorder(
        quiet_routes=quiet_routes, customers=customer_series(max_customers)
    )
