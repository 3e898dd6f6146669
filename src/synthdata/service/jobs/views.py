"""Generation jobs: create (202, idempotent), get, list, cancel, download the result
(as one file, part by part, or by a redirect to the object store)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Request, Response, status
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, StreamingResponse
from sqlalchemy import select

from synthdata.jobs import telemetry
from synthdata.jobs.leftovers import discard_if_ended
from synthdata.jobs.models import Job, JobState
from synthdata.observability.metrics import data_processed_bytes_total
from synthdata.service.core.middleware import request_id_of
from synthdata.service.core.pagination import Page, paginate
from synthdata.service.core.platform import Platform
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
from synthdata.service.jobs import results, service
from synthdata.service.jobs.models import JobCreate, JobOut, ResultParts

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


_RESULT_DOC: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The result as one file (`?parts=true`: the list of its parts).",
        "model": ResultParts,
        "content": {t: {} for t in MEDIA_TYPES.values()},
    },
    307: {"description": "Redirect to a presigned URL of the one stored object."},
    410: {"description": "The result (its manifest or one of its parts) is no longer stored."},
}


@router.get("/{job_id}/result", response_class=Response, responses=_RESULT_DOC)
def download_result(
    job_id: str,
    platform: PlatformDep,
    principal: PrincipalDep,
    session: SessionDep,
    parts: Annotated[
        bool, Query(description="List the parts with their checksums and URLs instead.")
    ] = False,
) -> Response:
    """Stream the generated table as one file, or a zip of the tables for a dataset of
    linked tables (409 until the job has succeeded).

    A large job's result is stored as part files plus a manifest. The download streams
    them as one file (CSV: one header; Parquet: one file, row group by row group);
    `?parts=true` lists the parts (rows, bytes, SHA-256 and a URL each: presigned on
    object storage, else `/jobs/{id}/result/parts/{index}`) for clients that read them
    in parallel. When the server sets `SYNTHDATA_RESULT_REDIRECT` and the result is one
    stored object, the answer is a 307 to a presigned URL of the object store."""
    job = _succeeded(owned(session, Job, job_id, principal, "job"))
    store, kind = platform.storage.store, _kind(job)
    stored = results.result_parts(store, job)
    if parts:
        seconds = platform.settings.presign_seconds
        return JSONResponse(results.listing(store, job, stored, kind, seconds).model_dump())
    if len(stored) == 1:
        return _one_object(platform, job, stored[0], f"{job.id}.{kind}", kind)
    data_processed_bytes_total.labels("out").inc(sum(p.bytes for p in stored))
    return StreamingResponse(
        results.stream(store, stored, kind),
        media_type=MEDIA_TYPES.get(kind),
        headers={"Content-Disposition": f'attachment; filename="{job.id}.{kind}"'},
    )


@router.get(
    "/{job_id}/result/parts/{index}",
    response_class=Response,
    responses={200: {"content": {t: {} for t in MEDIA_TYPES.values()}}, 307: {}, 410: {}},
)
def download_result_part(
    job_id: str,
    index: Annotated[int, Path(ge=0, le=10**6)],
    platform: PlatformDep,
    principal: PrincipalDep,
    session: SessionDep,
) -> Response:
    """One part of a succeeded job's result, as the manifest lists it (its bytes match
    the part's `sha256` in `?parts=true`)."""
    job = _succeeded(owned(session, Job, job_id, principal, "job"))
    kind = _kind(job)
    stored = results.result_parts(platform.storage.store, job)
    part = next((p for p in stored if p.index == index), None)
    if part is None:
        raise Problem(404, f"job {job.id!r} has no result part {index}", kind="not-found")
    return _one_object(platform, job, part, results.part_filename(job, part, kind), kind)


def _succeeded(job: Job) -> Job:
    if job.state != JobState.SUCCEEDED.value or not job.result_path:
        raise Problem(409, f"job {job.id!r} is {job.state}; no result yet", kind="not-ready")
    return job


def _kind(job: Job) -> str:
    return "zip" if job.scale is not None else job.format


def _one_object(
    platform: Platform, job: Job, part: results.StoredPart, filename: str, kind: str
) -> Response:
    """One stored object: a 307 to a presigned URL (when configured and the store has
    them), the file itself (local store), or a stream from the object store."""
    store = platform.storage.store
    if platform.settings.result_redirect:
        url = store.presign(part.key, platform.settings.presign_seconds, filename)
        if url is not None:
            return RedirectResponse(url, status_code=status.HTTP_307_TEMPORARY_REDIRECT)
    data_processed_bytes_total.labels("out").inc(part.bytes)
    media_type = MEDIA_TYPES.get(kind)
    local = store.local_path(part.key)
    if local is not None:
        return FileResponse(local, media_type=media_type, filename=filename)
    return StreamingResponse(
        results.read_object(store, part.key),
        media_type=media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Content-Length": str(part.bytes),
        },
    )
