"""Job telemetry: a job's log lines and spans join those of the request that created it.

A job row keeps the `X-Request-ID` and the W3C trace context of the request that
created it (`origin`). Workers run a job as several messages, here called phases
(prepare, each chunk, finalize), possibly on several machines. During each phase
(`phase`, a decorator on the runner's entry points) every log line is bound with
`job_id` and `request_id`, and spans continue the request's trace:

    POST /api/v1/jobs              server span of the API
      job.execute                  from the job's creation to its end
        job.queue_wait             creation until a worker first took the job
        job.fit                    fit the synthesizer and store the model
        job.sample (per chunk)     sample a row range and write its part file
        job.write                  write the result manifest (the parts stay as they are)

`job.execute` outlives every process that works on the job, so its span id is
derived from the job id: each phase parents its spans to that id, and the phase
that ends the job (see `job_ended`, called by the state transitions) records
`job.execute` itself with the job's creation and end times. A job created without
a trace context (tracing off in the API) gets a trace id derived from its id.
"""

from __future__ import annotations

import functools
import hashlib
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar

import structlog
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import NonRecordingSpan, SpanContext, SpanKind, TraceFlags
from opentelemetry.trace.status import Status, StatusCode
from opentelemetry.util.types import AttributeValue
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from synthdata.jobs.models import Job, JobChunk, JobState
from synthdata.observability.logging import get_logger
from synthdata.observability.tracing import (
    context_from,
    current_carrier,
    flush_traces_soon,
    is_configured,
    start_span_with_ids,
    tracer,
)
from synthdata.service.core.db import session_scope, utcnow

log = get_logger("synthdata.jobs")
P = ParamSpec("P")
R = TypeVar("R")
FINAL_STATES = (JobState.SUCCEEDED.value, JobState.FAILED.value, JobState.CANCELLED.value)
_TRACER = "synthdata.jobs"


def origin(request_id: str | None) -> dict[str, Any]:
    """The `Job` columns that tie a new job to the current request (call it in the request)."""
    return {"request_id": request_id, "trace_context": current_carrier() or None}


def execute_span_id(job_id: str) -> int:
    """The span id of the job's `job.execute` span (the same in every process)."""
    return _derived(b"span", job_id, 8)


def _derived(label: bytes, job_id: str, size: int) -> int:
    digest = hashlib.sha256(label + b":" + job_id.encode()).digest()
    return int.from_bytes(digest[:size], "big") or 1  # zero is the invalid id


def _parent(job_id: str, carrier: dict[str, str] | None) -> tuple[Context, int, TraceFlags]:
    """The request's context, and the trace id and flags the job's spans take."""
    parent = context_from(carrier)
    span = trace.get_current_span(parent).get_span_context()
    if span.is_valid:
        return parent, span.trace_id, span.trace_flags
    return parent, _derived(b"trace", job_id, 16), TraceFlags(TraceFlags.SAMPLED)


def _execute_context(job_id: str, carrier: dict[str, str] | None) -> Context:
    """A context whose current span is the job's `job.execute` (recorded at the job's end)."""
    parent, trace_id, flags = _parent(job_id, carrier)
    execute = SpanContext(trace_id, execute_span_id(job_id), is_remote=True, trace_flags=flags)
    return trace.set_span_in_context(NonRecordingSpan(execute), parent)


@dataclass
class _Phase:
    """What the spans of one phase say, and whether the phase ended the job."""

    job_id: str
    request_id: str | None = None
    synthesizer: str | None = None
    chunk: dict[str, AttributeValue] | None = None
    ended: bool = False

    def attributes(self) -> dict[str, AttributeValue]:
        found: dict[str, AttributeValue] = {"job.id": self.job_id}
        if self.synthesizer:
            found["synthesizer"] = self.synthesizer
        return found | (self.chunk or {})


_current: ContextVar[_Phase | None] = ContextVar("synthdata_job_phase", default=None)


def _load(
    sessions: sessionmaker[Session], job_id: str, index: int | None
) -> tuple[_Phase, dict[str, str] | None]:
    """One short read: the job's origin (and, for a traced chunk, its range)."""
    found = _Phase(job_id)
    with session_scope(sessions) as session:
        row = session.execute(
            select(Job.request_id, Job.trace_context, Job.synthesizer).where(Job.id == job_id)
        ).first()
        if row is None:
            return found, None
        found.request_id, found.synthesizer = row.request_id, row.synthesizer
        if index is not None:
            chunk = session.execute(
                select(JobChunk.rows, JobChunk.start_row, JobChunk.enqueued_at).where(
                    JobChunk.job_id == job_id, JobChunk.index == index
                )
            ).first()
            if chunk is not None:
                found.chunk = {
                    "chunk.index": index,
                    "chunk.rows": chunk.rows,
                    "chunk.start_row": chunk.start_row,
                }
                if chunk.enqueued_at is not None:
                    wait = (utcnow() - chunk.enqueued_at).total_seconds()
                    found.chunk["chunk.queue_wait_seconds"] = max(wait, 0.0)
        return found, row.trace_context


@contextmanager
def job_phase(
    sessions: sessionmaker[Session], job_id: str, name: str, *, index: int | None = None
) -> Iterator[None]:
    """Bind the job's ids to log lines and continue its trace while one phase runs."""
    traced = is_configured()
    try:
        state, carrier = _load(sessions, job_id, index if traced else None)
    except Exception as exc:  # telemetry must never stop a job; the runner meets the error
        # A database outage is logged once by the service; a traceback here adds nothing.
        log.warning(
            "could not read the job's origin",
            job_id=job_id,
            exc_info=not isinstance(exc, DBAPIError),
        )
        state, carrier = _Phase(job_id), None
    binds: dict[str, Any] = {"job_id": job_id, "request_id": state.request_id}
    if index is not None:
        binds["chunk"] = index
    with structlog.contextvars.bound_contextvars(**binds):
        token = otel_context.attach(_execute_context(job_id, carrier)) if traced else None
        reset = _current.set(state)
        started = time.perf_counter()
        log.info("job phase started", phase=name)
        try:
            yield
        finally:
            seconds = round(time.perf_counter() - started, 3)
            log.info("job phase finished", phase=name, duration_seconds=seconds)
            _current.reset(reset)
            if token is not None:
                otel_context.detach(token)
            if state.ended:
                _job_over(sessions, job_id)


class _HasSessions(Protocol):
    sessions: sessionmaker[Session]


S = TypeVar("S", bound=_HasSessions)


def phase(
    name: str,
) -> Callable[[Callable[Concatenate[S, str, P], R]], Callable[Concatenate[S, str, P], R]]:
    """Decorate a runner entry point `(self, job_id, [chunk index, ...])` as one phase."""

    def decorate(
        method: Callable[Concatenate[S, str, P], R],
    ) -> Callable[Concatenate[S, str, P], R]:
        @functools.wraps(method)
        def run(runner: S, job_id: str, /, *args: P.args, **kwargs: P.kwargs) -> R:
            index = args[0] if args and isinstance(args[0], int) else None
            with job_phase(runner.sessions, job_id, name, index=index):
                return method(runner, job_id, *args, **kwargs)

        return run

    return decorate


def step(name: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Decorate one step of a phase (fit, sample, write) as a child span of `job.execute`.

    Outside a phase, or with tracing off, the function runs as it is.
    """

    def decorate(fn: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(fn)
        def run(*args: P.args, **kwargs: P.kwargs) -> R:
            current = _current.get()
            if current is None or not is_configured():
                return fn(*args, **kwargs)
            with tracer(_TRACER).start_as_current_span(name, attributes=current.attributes()):
                return fn(*args, **kwargs)

        return run

    return decorate


def job_ended() -> None:
    """The current phase moved its job to a final state (called by the transitions)."""
    current = _current.get()
    if current is not None:
        current.ended = True


def _job_over(sessions: sessionmaker[Session], job_id: str) -> None:
    try:
        with session_scope(sessions) as session:
            job = session.get(Job, job_id)
        if job is None or job.state not in FINAL_STATES:
            return  # the transaction that ended it did not commit
        record_execution(job)
    except Exception as exc:
        log.warning("could not record the job's end", exc_info=not isinstance(exc, DBAPIError))


def record_execution(job: Job) -> None:
    """Log the end of a final job and record its `job.execute` span (and the queue wait)."""
    end = job.finished_at or utcnow()
    span = _execute_span(job) if is_configured() else None
    # Inside the span, the line carries the job's trace id like the job's other lines.
    with trace.use_span(span, end_on_exit=False) if span is not None else nullcontext():
        log.info(
            "job finished",
            job_id=job.id,
            request_id=job.request_id,
            state=job.state,
            attempts=job.attempts,
            duration_seconds=round((end - job.created_at).total_seconds(), 3),
        )
    if span is not None:
        span.end(end_time=_ns(end))
        flush_traces_soon()  # the job's trace is complete: do not wait for the batch delay


def _execute_span(job: Job) -> trace.Span:
    """Start `job.execute` at the job's creation, with its queue wait as first child."""
    parent, trace_id, _ = _parent(job.id, job.trace_context)
    attributes: dict[str, AttributeValue] = {
        "job.id": job.id,
        "job.kind": job.kind,
        "job.state": job.state,
        "job.rows": job.rows,
        "job.attempts": job.attempts,
        "job.chunks": job.chunks_total,
        "synthesizer": job.synthesizer,
    }
    if job.request_id:
        attributes["request_id"] = job.request_id
    if job.started_at is not None:
        wait = max((job.started_at - job.created_at).total_seconds(), 0.0)
        attributes["job.queue_wait_seconds"] = wait
    span = start_span_with_ids(
        "job.execute",
        trace_id=trace_id,
        span_id=execute_span_id(job.id),
        context=parent,
        kind=SpanKind.CONSUMER,
        start_time=_ns(job.created_at),
        attributes=attributes,
    )
    if job.state == JobState.FAILED.value:
        span.set_status(Status(StatusCode.ERROR, job.error or "failed"))
    if job.started_at is not None:
        tracer(_TRACER).start_span(
            "job.queue_wait",
            context=trace.set_span_in_context(span),
            start_time=_ns(job.created_at),
            attributes={"job.queue_wait_seconds": attributes["job.queue_wait_seconds"]},
        ).end(end_time=_ns(max(job.started_at, job.created_at)))
    return span


def _ns(moment: datetime) -> int:
    return int(moment.timestamp() * 1_000_000_000)
