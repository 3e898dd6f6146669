"""Creating jobs (with idempotency keys), cancelling them, and the circuit breaker gate."""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from synthdata.engine.base import list_synthesizers
from synthdata.engine.conditions import conditions_from_json
from synthdata.engine.constraints import parse_constraint
from synthdata.engine.errors import InputError
from synthdata.engine.registry import can_save, takes_conditions
from synthdata.engine.schema import TableSchema
from synthdata.jobs import telemetry
from synthdata.jobs.models import ACTIVE_STATES, ChunkState, Job, JobChunk, JobKind, JobState
from synthdata.jobs.queue import JobQueue
from synthdata.service.admin.service import get_breaker
from synthdata.service.core.circuit import RedisCircuit
from synthdata.service.core.db import utcnow
from synthdata.service.core.problems import Problem, not_found
from synthdata.service.core.settings import Settings
from synthdata.service.datasets.bundles import is_bundle_dataset
from synthdata.service.datasets.models import Dataset
from synthdata.service.jobs.models import JobCreate
from synthdata.service.models.models import ModelState, SynthModel

log = logging.getLogger("synthdata.service")
_SENDS = ThreadPoolExecutor(4, thread_name_prefix="job-send")
"""Sends job messages to a Redis queue, so a request waits for one only so long."""
API_SERVICE = "synthdata-api"
_RANDOM_SEED_BITS = 53  # random seeds stay exact in JavaScript clients


def ensure_breaker_closed(session: Session, settings: Settings) -> None:
    """503 with Retry-After while the API's circuit breaker is on (new work is refused)."""
    breaker = get_breaker(session, API_SERVICE, settings.circuit_breaker_retry_after)
    if breaker.enabled:
        detail = "the service is not accepting new jobs right now (circuit breaker on)"
        if breaker.reason:
            detail += f": {breaker.reason}"
        raise Problem(
            503,
            detail,
            kind="circuit-breaker-open",
            headers={"Retry-After": str(breaker.retry_after)},
            shed="circuit_breaker",  # the operator's mitigation, not a failure
        )


def check_synthesizer(name: str) -> str:
    """422 for a synthesizer the engine does not know, or whose models cannot be saved.

    Every job saves its fitted model (a trained model, or the one a generation job's
    chunks sample from), so a synthesizer without `supports_save` would fit for
    minutes and then fail: it is refused before any work.
    """
    known = list_synthesizers()
    if name not in known:
        raise Problem(
            422,
            f"unknown synthesizer {name!r} (available: {', '.join(known)})",
            kind="invalid-input",
        )
    if not can_save(name):
        usable = [n for n in known if can_save(n)]
        raise Problem(
            422,
            f"the {name} synthesizer cannot be used by the service: its models cannot be "
            f"saved in the model format that jobs run from (use one of: {', '.join(usable)}; "
            "or `synthdata generate` on your machine)",
            kind="invalid-input",
        )
    return name


def check_conditions(
    conditions: dict[str, Any], synthesizer: str, schema: dict[str, Any] | None
) -> None:
    """422 naming the column for conditions that cannot hold; values are checked by the
    model itself when the job samples (a value that never occurs fails the job)."""
    if not takes_conditions(synthesizer):
        raise Problem(
            422,
            f"the {synthesizer} synthesizer cannot sample with conditions (use chain)",
            kind="invalid-input",
        )
    try:
        conditions_from_json(conditions)
    except InputError as exc:
        raise Problem(422, str(exc), kind="invalid-input") from None
    names = {column["name"] for column in (schema or {}).get("columns", [])}
    for column in conditions:
        if names and column not in names:
            raise Problem(422, f"condition on unknown column {column!r}", kind="invalid-input")


def check_constraints(constraints: list[Any], schema: dict[str, Any] | None) -> None:
    """422 naming the column or the piece of a rule for constraints that cannot apply to
    the dataset; whether the real rows meet them is measured when the model is fitted."""
    try:
        parsed = [parse_constraint(item) for item in constraints]
        if schema:
            table = TableSchema.from_dict(schema)
            for constraint in parsed:
                constraint.check(table)
    except InputError as exc:
        raise Problem(422, str(exc), kind="invalid-input") from None


def check_tables_request(body: JobCreate, real_rows: int, settings: Settings) -> tuple[int, float]:
    """The estimated rows and the scale of a job on a dataset of linked tables; 422 for
    what such a job does not take (rows, conditions, constraints) or too many rows."""
    for field, given in (
        ("rows", body.rows is not None),
        ("synthesizer", "synthesizer" in body.model_fields_set),
        ("conditions", bool(body.conditions)),
        ("constraints", bool(body.constraints)),
    ):
        if given:
            hint = " (give scale: 0.5 is half of every table)" if field == "rows" else ""
            raise Problem(
                422,
                f"{field} does not apply to a dataset of linked tables{hint}",
                kind="invalid-input",
            )
    scale = 1.0 if body.scale is None else body.scale
    return scaled_rows(real_rows, scale, settings), scale


def scaled_rows(real_rows: int, scale: float, settings: Settings) -> int:
    """`scale` times the real rows (at least one); 422 over the per-job limit."""
    rows = max(1, round(real_rows * scale))
    if rows > settings.max_job_rows:
        raise Problem(
            422,
            f"scale {scale:g} would write about {rows:,} rows, over the limit of "
            f"{settings.max_job_rows:,}",
            kind="validation-error",
        )
    return rows


def request_hash(body: JobCreate) -> str:
    """A fingerprint of the request, to tell a retry from a different request with the same key."""
    fields = body.model_dump(mode="json")
    if fields.get("scale") is None:
        # Absent before linked tables: a retry of a request made then keeps its hash.
        fields.pop("scale", None)
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _replay(session: Session, customer_id: str, key: str, fingerprint: str) -> Job | None:
    job = session.scalars(
        select(Job).where(Job.customer_id == customer_id, Job.idempotency_key == key)
    ).first()
    if job is not None and job.request_hash != fingerprint:
        raise Problem(
            409,
            "this Idempotency-Key was already used with a different request",
            kind="idempotency-key-reused",
        )
    return job


def find_replay(
    session: Session, customer_id: str, idempotency_key: str | None, body: JobCreate
) -> Job | None:
    """The job this customer already created with `idempotency_key` (409 if the key was
    used for a different request), or None."""
    if not idempotency_key:
        return None
    return _replay(session, customer_id, idempotency_key, request_hash(body))


def create_generation_job(
    session: Session,
    *,
    customer_id: str,
    body: JobCreate,
    idempotency_key: str | None,
    settings: Settings,
    request_id: str | None = None,
) -> tuple[Job, bool]:
    """Create (and commit) a generation job; return it and whether it is new.

    A repeated Idempotency-Key returns the first job instead of creating another,
    also when two such requests race (the unique constraint decides). The job
    keeps `request_id` and the current trace context (see `jobs.telemetry`).
    """
    fingerprint = request_hash(body)
    if idempotency_key:
        existing = _replay(session, customer_id, idempotency_key, fingerprint)
        if existing is not None:
            return existing, False
    if body.rows is not None and body.rows > settings.max_job_rows:
        raise Problem(
            422, f"rows must be at most {settings.max_job_rows:,}", kind="validation-error"
        )
    synthesizer = body.synthesizer
    rows, scale = body.rows, None
    if body.model_id is not None:
        model = session.get(SynthModel, body.model_id)
        if model is None or model.customer_id != customer_id:
            raise not_found("model", body.model_id)
        if model.state == ModelState.FAILED.value:
            # The model's state, not the request, is at fault: a conflict, as for a job.
            raise Problem(409, f"model {model.id!r} failed to train", kind="model-failed")
        synthesizer = model.synthesizer
        schema = model.schema_json
    else:
        assert body.dataset_id is not None
        dataset = session.get(Dataset, body.dataset_id)
        if dataset is None or dataset.customer_id != customer_id:
            raise not_found("dataset", body.dataset_id)
        if is_bundle_dataset(dataset.format):
            rows, scale = check_tables_request(body, dataset.rows, settings)
        else:
            if rows is None:  # as many rows as the real table, times scale when given
                scale_asked = 1.0 if body.scale is None else body.scale
                rows = scaled_rows(dataset.rows, scale_asked, settings)
            check_synthesizer(synthesizer)
        schema = dataset.schema_json
    if rows is None:
        raise Problem(422, "rows: give the number of rows to generate", kind="validation-error")
    request = body.model_dump(mode="json")
    conditions = request["conditions"] or None
    if conditions:
        check_conditions(conditions, synthesizer, schema)
    constraints = request["constraints"] or None
    if constraints:
        check_constraints(constraints, schema)
    job = Job(
        customer_id=customer_id,
        kind=JobKind.GENERATE.value,
        dataset_id=body.dataset_id,
        model_id=body.model_id,
        rows=rows,
        scale=scale,
        synthesizer=synthesizer,
        format=body.format,
        seed=body.seed if body.seed is not None else secrets.randbits(_RANDOM_SEED_BITS),
        conditions=conditions,
        constraints=constraints,
        idempotency_key=idempotency_key,
        request_hash=fingerprint,
        enqueued_at=utcnow(),
        **telemetry.origin(request_id),
    )
    session.add(job)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        if idempotency_key:
            existing = _replay(session, customer_id, idempotency_key, fingerprint)
            if existing is not None:
                return existing, False
        raise
    return job, True


def send_prepare(queue: JobQueue, job_id: str, circuit: RedisCircuit | None = None) -> None:
    """Send the job's first message; if the queue is down, the reaper sends it later.

    With `circuit` (a Redis queue), a Redis that failed a moment ago is not asked again:
    the job stays queued until the reaper re-sends it (`job_redeliver_seconds`).
    """
    if circuit is not None and not circuit.allows():
        log.info("job %s not enqueued now (redis unavailable); the reaper will send it", job_id)
        return
    try:
        if circuit is None:
            queue.send_prepare(job_id)
        else:
            # Waited for no longer than one short Redis call; a send that lands later
            # anyway is harmless (the reaper's re-send and it both claim the row first).
            _SENDS.submit(queue.send_prepare, job_id).result(timeout=circuit.call_seconds)
    except Exception as exc:
        if circuit is None:
            log.exception("could not enqueue job %s; the reaper will re-send it", job_id)
        else:
            circuit.failed("job enqueue", exc)
        return
    if circuit is not None:
        circuit.succeeded()


def cancel_job(session: Session, job: Job) -> Job:
    """Cancel a queued or running job; running chunks stop at their next heartbeat."""
    if job.state not in ACTIVE_STATES:
        raise Problem(409, f"job {job.id!r} is already {job.state}", kind="conflict")
    job.state, job.finished_at = JobState.CANCELLED.value, utcnow()
    job.lease_until = job.claim_token = None
    session.execute(
        update(JobChunk)
        .where(JobChunk.job_id == job.id, JobChunk.state != ChunkState.DONE.value)
        .values(state=ChunkState.CANCELLED.value, lease_until=None, claim_token=None)
    )
    if job.kind == JobKind.TRAIN.value and job.model_id:
        session.execute(
            update(SynthModel)
            .where(SynthModel.id == job.model_id, SynthModel.state == ModelState.TRAINING.value)
            .values(state=ModelState.FAILED.value, error="training was cancelled")
        )
    return job
