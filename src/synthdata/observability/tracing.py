"""OpenTelemetry tracing, configured by the standard `OTEL_*` variables; off by default.

Tracing turns on when `OTEL_EXPORTER_OTLP_ENDPOINT` or
`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` is set (and `OTEL_SDK_DISABLED` is not
"true"); spans then go to that collector over OTLP/HTTP. Off, the API's no-op
tracer is used and nothing is recorded or sent.

A generation job carries its trace context (W3C `traceparent`) in the job row, so
the worker's spans continue the trace of the `POST /api/v1/jobs` request.
"""

from __future__ import annotations

import os
from typing import Any

from opentelemetry import propagate, trace
from opentelemetry.context import Context

_configured = False


def tracing_enabled() -> bool:
    """Whether the environment asks for traces to be exported."""
    if os.environ.get("OTEL_SDK_DISABLED", "").lower() == "true":
        return False
    return bool(
        os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
        or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    )


def configure_tracing(service_name: str) -> bool:
    """Install the OTLP/HTTP exporter once per process; return whether tracing is on."""
    global _configured
    if _configured or not tracing_enabled():
        return _configured
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    resource = Resource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME", service_name)})
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    _configured = True
    return True


def flush_traces() -> None:
    """Export buffered spans now (before a worker process exits)."""
    provider = trace.get_tracer_provider()
    force_flush = getattr(provider, "force_flush", None)
    if force_flush is not None:
        force_flush()


def tracer(name: str = "synthdata") -> trace.Tracer:
    return trace.get_tracer(name)


def current_carrier() -> dict[str, str]:
    """The current trace context as a dict to store with a job (empty when off)."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier


def context_from(carrier: dict[str, Any] | None) -> Context:
    """The trace context stored with a job, for the worker's spans to continue."""
    return propagate.extract(carrier or {})
