"""Spans for HTTP requests (FastAPI) and database statements (SQLAlchemy), when tracing is on.

Both are installed only in a process where `configure_tracing` turned tracing on;
otherwise these functions return at once and the instrumentation packages are not
even imported, so tracing off costs nothing.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from opentelemetry import trace

from synthdata.observability.tracing import is_configured

if TYPE_CHECKING:
    from fastapi import FastAPI
    from sqlalchemy.engine import Engine

# Scrapes and probes arrive every few seconds; a trace each would bury the real ones.
DEFAULT_EXCLUDED_URLS = "/metrics,/healthz,/readyz"


def instrument_app(app: FastAPI) -> None:
    """App-factory hook: one server span per request, named after the route template.

    `OTEL_PYTHON_FASTAPI_EXCLUDED_URLS` replaces the default exclusions.
    """
    if not is_configured():
        return
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    excluded = os.environ.get("OTEL_PYTHON_FASTAPI_EXCLUDED_URLS", DEFAULT_EXCLUDED_URLS)
    # The ASGI "receive"/"send" sub-spans add two spans per request and say nothing new.
    FastAPIInstrumentor.instrument_app(
        app, excluded_urls=excluded, exclude_spans=["receive", "send"]
    )


_engine_tracer_factory: Any = None


def instrument_engine(engine: Engine) -> None:
    """Give each statement that runs inside a traced operation a client span.

    Statements outside any trace (lease heartbeats, the reaper's polls) get none:
    as root spans they would each start a trace of their own, every few seconds.
    """
    if not is_configured():
        return
    _engine_tracer()(engine)


def _engine_tracer() -> Callable[[Engine], object]:
    """A factory that attaches the SQLAlchemy instrumentation's listeners to an engine.

    The instrumentor's `instrument(engine=...)` works once per process, and also
    patches `create_engine` globally; each engine is attached here instead.
    """
    global _engine_tracer_factory
    if _engine_tracer_factory is not None:
        return _engine_tracer_factory
    from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer
    from opentelemetry.instrumentation.sqlalchemy.version import __version__
    from opentelemetry.metrics import get_meter

    class ChildSpansOnly(EngineTracer):
        """The instrumentation's listeners, skipping statements outside any trace."""

        def _before_cur_exec(self, conn: Any, cursor: Any, statement: Any, *args: Any) -> Any:
            if not trace.get_current_span().get_span_context().is_valid:
                return statement, args[0]
            return super()._before_cur_exec(conn, cursor, statement, *args)

    scope_name = "opentelemetry.instrumentation.sqlalchemy"
    tracer = trace.get_tracer(scope_name, __version__)
    connections = get_meter(scope_name, __version__).create_up_down_counter(
        "db.client.connections.usage",
        unit="connections",
        description="Connections in the state given by the `state` attribute.",
    )
    factory = functools.partial(ChildSpansOnly, tracer, connections_usage=connections)
    _engine_tracer_factory = factory
    return factory
