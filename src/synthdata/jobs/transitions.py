"""State changes of jobs and chunks that must happen in one transaction each."""

from __future__ import annotations

from typing import NamedTuple

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from synthdata.jobs import leases, telemetry
from synthdata.jobs.models import ACTIVE_STATES, ChunkState, Job, JobChunk, JobKind, JobState
from synthdata.service.core.db import utcnow
from synthdata.service.models.models import ModelState, SynthModel


def finish(session: Session, job_id: str, token: str) -> bool:
    """Mark a job succeeded if `token` still holds its lease."""
    result = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.claim_token == token, Job.state == JobState.RUNNING.value)
        .values(
            state=JobState.SUCCEEDED.value,
            finished_at=utcnow(),
            lease_until=None,
            claim_token=None,
            error=None,
        )
    )
    if int(result.rowcount) != 1:  # type: ignore[attr-defined]
        return False
    telemetry.job_ended()
    return True


def release_job(session: Session, job_id: str, token: str) -> bool:
    """Give a job lease back (for a retry), noting that a message is on its way."""
    result = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.claim_token == token)
        .values(lease_until=None, claim_token=None, enqueued_at=utcnow())
    )
    return int(result.rowcount) == 1  # type: ignore[attr-defined]


class ChunkCompletion(NamedTuple):
    """Whether the chunk was marked done, and the finalize token if it was the last."""

    done: bool
    finalize_token: str | None


def complete_chunk(
    session: Session, job_id: str, chunk_id: int, rows: int, token: str, seconds: float
) -> ChunkCompletion:
    """Mark the chunk done; if it was the last, claim finalization (its token)."""
    result = session.execute(
        update(JobChunk)
        .where(JobChunk.id == chunk_id, JobChunk.claim_token == token)
        .where(JobChunk.state == ChunkState.RUNNING.value)
        .values(
            state=ChunkState.DONE.value,
            rows_done=rows,
            finished_at=utcnow(),
            lease_until=None,
            claim_token=None,
        )
    )
    if int(result.rowcount) != 1:  # type: ignore[attr-defined]
        return ChunkCompletion(False, None)
    session.execute(update(Job).where(Job.id == job_id).values(chunks_done=Job.chunks_done + 1))
    leases.sync_rows_done(session, job_id)
    # The counter update locked the job row, so exactly one chunk sees the total.
    job = session.execute(
        select(Job.chunks_done, Job.chunks_total, Job.state).where(Job.id == job_id)
    ).one()
    if job.state != JobState.RUNNING.value or job.chunks_done < job.chunks_total:
        return ChunkCompletion(True, None)
    # The same run goes on into its finalize: not a new attempt.
    return ChunkCompletion(
        True, leases.claim_job(session, job_id, seconds, phase="finalize", new_attempt=False)
    )


def mark_failed(session: Session, job_id: str, message: str) -> bool:
    """Fail an active job, cancel its pending chunks, and fail its model if it trains one.

    Returns whether the job was still active (False: nothing changed).
    """
    job = session.get(Job, job_id)
    if job is None or job.state not in ACTIVE_STATES:
        return False
    job.state, job.error, job.finished_at = JobState.FAILED.value, message, utcnow()
    job.lease_until = job.claim_token = None
    session.execute(
        update(JobChunk)
        .where(JobChunk.job_id == job_id, JobChunk.state != ChunkState.DONE.value)
        .values(state=ChunkState.CANCELLED.value, lease_until=None, claim_token=None)
    )
    if job.kind == JobKind.TRAIN.value and job.model_id:
        session.execute(
            update(SynthModel)
            .where(SynthModel.id == job.model_id)
            .values(state=ModelState.FAILED.value, error=message)
        )
    telemetry.job_ended()
    return True
