"""OpenTelemetry tracing, configured by the standard `OTEL_*` variables; off by default.

Tracing turns on when `OTEL_EXPORTER_OTLP_ENDPOINT` or
`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` is set (and `OTEL_SDK_DISABLED` is not
"true"); spans then go to that collector over OTLP/HTTP. Off, the API's no-op
tracer is used and nothing is recorded or sent.

A generation job carries its trace context (W3C `traceparent`) in the job row, so
the worker's spans continue the trace of the `POST /api/v1/jobs` request (see
`synthdata.jobs.telemetry`).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from contextvars import ContextVar
from typing import Any

from opentelemetry import propagate, trace
from opentelemetry.context import Context
from opentelemetry.util.types import AttributeValue

_configured = False
# (trace id, span id) the next span started in this context must take; see `start_span_with_ids`.
_preset_ids: ContextVar[tuple[int, int] | None] = ContextVar("synthdata_preset_ids", default=None)
_flushing = threading.Lock()


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
    from opentelemetry.sdk.trace.id_generator import RandomIdGenerator

    class PresetIdGenerator(RandomIdGenerator):
        """Random ids, except for a span started by `start_span_with_ids`."""

        def generate_trace_id(self) -> int:
            preset = _preset_ids.get()
            return preset[0] if preset else super().generate_trace_id()

        def generate_span_id(self) -> int:
            preset = _preset_ids.get()
            return preset[1] if preset else super().generate_span_id()

    resource = Resource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME", service_name)})
    provider = TracerProvider(resource=resource, id_generator=PresetIdGenerator())
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    _configured = True
    return True


def is_configured() -> bool:
    """Whether this process exports spans (`configure_tracing` turned tracing on)."""
    return _configured


def flush_traces() -> None:
    """Export buffered spans now (before a worker process exits)."""
    provider = trace.get_tracer_provider()
    force_flush = getattr(provider, "force_flush", None)
    if force_flush is not None:
        force_flush()


def flush_traces_soon() -> None:
    """Export buffered spans now, from a background thread (at most one at a time).

    The SDK exports in the flushing thread, so a collector that is down would hold
    a worker for the exporter's whole timeout after each job; this never does.
    """
    if not _configured or not _flushing.acquire(blocking=False):
        return

    def flush() -> None:
        try:
            flush_traces()
        finally:
            _flushing.release()

    threading.Thread(target=flush, name="synthdata-trace-flush", daemon=True).start()


def record_exception(exc: BaseException) -> None:
    """Mark the current span failed by `exc`: for an exception answered, not re-raised
    (the instrumentation records only those that pass through it)."""
    span = trace.get_current_span()
    if span.is_recording():
        span.record_exception(exc)
        span.set_status(trace.Status(trace.StatusCode.ERROR, f"{type(exc).__name__}: {exc}"))


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


def start_span_with_ids(
    name: str,
    *,
    trace_id: int,
    span_id: int,
    context: Context | None = None,
    kind: trace.SpanKind = trace.SpanKind.INTERNAL,
    start_time: int | None = None,
    attributes: Mapping[str, AttributeValue] | None = None,
) -> trace.Span:
    """Start a span whose ids were chosen beforehand (`trace_id` applies to a root span).

    A job's `job.execute` span outlives every process that works on the job, so its
    children are started first, under an id derived from the job; whichever worker
    ends the job records the span itself under that id.
    """
    token = _preset_ids.set((trace_id, span_id))
    try:
        return tracer().start_span(
            name, context=context, kind=kind, start_time=start_time, attributes=attributes
        )
    finally:
        _preset_ids.reset(token)
