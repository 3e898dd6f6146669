"""Generation jobs: create (202, idempotent), get, list, cancel, download the result."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Request, Response, status
from fastapi.responses import FileResponse
from sqlalchemy import select

from synthdata.jobs import telemetry
from synthdata.jobs.leftovers import discard_if_ended
from synthdata.jobs.models import Job, JobState
from synthdata.observability.metrics import data_processed_bytes_total
from synthdata.service.core.middleware import request_id_of
from synthdata.service.core.pagination import Page, paginate
from synthdata.service.core.problems import PROBLEM_RESPONSES, Problem
from synthdata.service.deps import (
    Cursor,
    CustomerFilter,
    Limit,
    PlatformDep,
    PrincipalDep,
    SessionDep,
    acting_customer,
    list_scope,
    owned,
    scoped,
)
from synthdata.service.jobs import service
from synthdata.service.jobs.models import JobCreate, JobOut

router = APIRouter(prefix="/jobs", tags=["jobs"], responses=PROBLEM_RESPONSES)

MEDIA_TYPES = {
    "csv": "text/csv",
    "parquet": "application/vnd.apache.parquet",
    "zip": "application/zip",  # a job on linked tables: one file per table
}

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=255,
        description="Retrying with the same key returns the first job instead of a new one.",
    ),
]


@router.post("", response_model=JobOut, status_code=status.HTTP_202_ACCEPTED)
def create_job(
    body: JobCreate,
    request: Request,
    response: Response,
    platform: PlatformDep,
    principal: PrincipalDep,
    session: SessionDep,
    idempotency_key: IdempotencyKey = None,
    customer_id: CustomerFilter = None,
) -> JobOut:
    """Queue a generation job; poll `GET /jobs/{id}`, then download `/jobs/{id}/result`."""
    owner = acting_customer(principal, customer_id)
    # A retry of a job already accepted gets that job back even while the circuit
    # breaker is on: the breaker refuses new work, and clients are told to retry so.
    replayed = service.find_replay(session, owner, idempotency_key or None, body)
    if replayed is not None:
        job, created = replayed, False
    else:
        service.ensure_breaker_closed(session, platform.settings)
        job, created = service.create_generation_job(
            session,
            customer_id=owner,
            body=body,
            idempotency_key=idempotency_key or None,
            settings=platform.settings,
            request_id=request_id_of(request),
        )
    if created:
        service.send_prepare(platform.queue, job.id, platform.queue_circuit)
    else:
        response.headers["Idempotent-Replayed"] = "true"
    response.headers["Location"] = f"/api/v1/jobs/{job.id}"
    return JobOut.of(job)


@router.get("", response_model=Page[JobOut])
def list_jobs(
    principal: PrincipalDep,
    session: SessionDep,
    customer_id: CustomerFilter = None,
    state: JobState | None = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[JobOut]:
    """Jobs, newest first (admins: everyone's, or one customer's)."""
    query = scoped(select(Job), Job, list_scope(principal, customer_id))
    if state is not None:
        query = query.where(Job.state == state.value)
    return paginate(session, query, Job.id, limit=limit, cursor=cursor, render=JobOut.of)


@router.get("/{job_id}", response_model=JobOut)
async def get_job(job_id: str, principal: PrincipalDep, platform: PlatformDep) -> JobOut:
    """A job's state, progress and timings (clients poll this: the fast read path)."""
    return await platform.read(
        lambda session: JobOut.of(owned(session, Job, job_id, principal, "job"))
    )


@router.post("/{job_id}/cancel", response_model=JobOut)
def cancel_job(
    job_id: str, platform: PlatformDep, principal: PrincipalDep, session: SessionDep
) -> JobOut:
    """Cancel a queued or running job (409 if it already finished); its files are removed."""
    job = service.cancel_job(session, owned(session, Job, job_id, principal, "job"))
    session.commit()
    # A chunk still running removes what it writes when it notices (jobs/leftovers.py).
    discard_if_ended(session, platform.storage, job.id)
    telemetry.record_execution(job)  # the job's trace ends here, not in a worker
    return JobOut.of(job)


@router.get(
    "/{job_id}/result",
    response_class=FileResponse,
    responses={200: {"content": {t: {} for t in MEDIA_TYPES.values()}}},
)
def download_result(
    job_id: str, platform: PlatformDep, principal: PrincipalDep, session: SessionDep
) -> FileResponse:
    """Stream the generated table, or a zip of the tables for a dataset of linked tables
    (409 until the job has succeeded)."""
    job = owned(session, Job, job_id, principal, "job")
    if job.state != JobState.SUCCEEDED.value or not job.result_path:
        raise Problem(409, f"job {job.id!r} is {job.state}; no result yet", kind="not-ready")
    path = platform.storage.absolute(job.result_path)
    if not path.exists():
        raise Problem(410, f"the result of job {job.id!r} is no longer stored", kind="gone")
    data_processed_bytes_total.labels("out").inc(path.stat().st_size)
    kind = "zip" if job.scale is not None else job.format
    return FileResponse(path, media_type=MEDIA_TYPES.get(kind), filename=f"{job.id}.{kind}")
