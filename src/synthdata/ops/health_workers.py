"""The health check's "workers" finding: is queued work making progress?

The same definition as the GenerationQueueStalled alert
(monitoring/prometheus/rules/generation.yml): stalled means work waits and none
progresses, i.e. no job or chunk was in flight and no chunk was completed in the
last 15 minutes. How long a job has waited is not the signal: behind a long job on
busy workers a queued job waits for as long as that job runs, and nothing is wrong.

The alert reads metrics (the queue length, `synthdata_generation_work_in_flight`,
`synthdata_generation_chunks_completed_total`); this check reads the same facts from
the jobs tables: queued jobs and chunks are the waiting work, a lease that was live
in the window is work in flight, a `finished_at` in the window a completed chunk or
job. As the alert waits 5 minutes (`for: 5m`) before it fires, work that has waited
less than that is not called stalled.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Engine, func, or_, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from synthdata.ops.diagnose import QUEUE_STALLED, age_text, reason
from synthdata.ops.report import Report

STALL_GRACE = timedelta(minutes=5)  # generation.yml GenerationQueueStalled `for:`


def check_workers(report: Report, engine: Engine) -> None:
    """Fail when work waits and nothing progressed within the stall window."""
    from synthdata.jobs.leases import live_leases
    from synthdata.jobs.models import ChunkState, Job, JobChunk, JobState
    from synthdata.service.core.db import utcnow

    now = utcnow()
    since = now - QUEUE_STALLED
    queued_job, queued_chunk = JobState.QUEUED.value, ChunkState.QUEUED.value
    try:
        with Session(engine) as session:
            jobs_waiting, oldest_job = session.execute(
                select(func.count(), func.min(Job.created_at)).where(Job.state == queued_job)
            ).one()
            chunk_since = func.coalesce(JobChunk.enqueued_at, JobChunk.created_at)
            chunks_waiting, oldest_chunk = session.execute(
                select(func.count(), func.min(chunk_since)).where(JobChunk.state == queued_chunk)
            ).one()
            in_flight = live_leases(session)
            chunks_completed = _count(
                session, JobChunk.state == ChunkState.DONE.value, JobChunk.finished_at >= since
            )
            # A lease that ran out inside the window was work in flight within it.
            recently_active = _count(
                session, or_(Job.lease_until >= since, Job.finished_at >= since)
            ) + _count(session, JobChunk.lease_until >= since)
            running = _count(session, Job.state == JobState.RUNNING.value)
            finished = session.execute(select(func.max(Job.finished_at))).scalar_one()
    except SQLAlchemyError as exc:
        report.add("workers", "fail", f"cannot read the jobs tables ({reason(exc)})")
        return
    waiting = int(jobs_waiting) + int(chunks_waiting)
    oldest = _earliest(oldest_job, oldest_chunk)
    last = f"last job finished {age_text(now - finished)} ago" if finished else "no job finished"
    window = age_text(QUEUE_STALLED)
    data: dict[str, Any] = {
        "queued": int(jobs_waiting),
        "chunks_queued": int(chunks_waiting),
        "running": int(running),
        "in_flight": int(in_flight),
        "chunks_completed_in_window": int(chunks_completed),
        "last_finished": finished,
    }
    progress = (
        f"{in_flight} job phase(s)/chunk(s) in flight, "
        f"{chunks_completed} chunk(s) completed in the last {window}, {last}"
    )
    if not waiting:
        report.add("workers", "ok", f"no work waiting; {progress}", **data)
        return
    waited = now - oldest if oldest is not None else timedelta(0)
    data["oldest_queued_age_seconds"] = waited.total_seconds()
    detail = (
        f"{jobs_waiting} job(s) and {chunks_waiting} chunk(s) waiting (oldest {age_text(waited)}); "
    )
    moving = in_flight or chunks_completed or recently_active
    if moving or waited < STALL_GRACE:
        report.add("workers", "ok", detail + progress, **data)
        return
    detail += (
        f"nothing in flight and no chunk completed in the last {window}: "
        "no worker picked a job up (GenerationQueueStalled)"
    )
    report.add("workers", "fail", detail, **data)


def _count(session: Session, *where: ColumnElement[bool]) -> int:
    """Rows of the one table `where` is about that match it."""
    return int(session.execute(select(func.count()).where(*where)).scalar_one())


def _earliest(*moments: datetime | None) -> datetime | None:
    present = [moment for moment in moments if moment is not None]
    return min(present) if present else None
