"""Claiming work with leases, as single conditional UPDATEs (safe on SQLite and PostgreSQL).

A claim succeeds only if nobody holds a live lease; it sets a fresh token that
every later write by the claimant must present. A worker that was too slow and
lost its lease to another therefore cannot overwrite that worker's state.
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import Callable
from datetime import timedelta
from types import TracebackType
from typing import Any

from sqlalchemy import ColumnElement, Update, and_, func, or_, select, update
from sqlalchemy.orm import Session

from synthdata.jobs.models import ACTIVE_STATES, ChunkState, Job, JobChunk, JobState
from synthdata.service.core.db import utcnow

log = logging.getLogger("synthdata.jobs")


class LeaseLost(Exception):
    """The work was taken over, or the job was cancelled: stop without writing state."""


def _free(column: Any) -> ColumnElement[bool]:
    return or_(column.is_(None), column < utcnow())


def _rowcount(result: Any) -> int:
    return int(result.rowcount)


def claim_job(
    session: Session, job_id: str, seconds: float, *, phase: str, new_attempt: bool = True
) -> str | None:
    """Claim the job-level phase "prepare" or "finalize"; return the token, or None.

    `new_attempt` counts the claim as one more attempt at the job: every prepare, and
    a finalize run again (after a failure or a lost worker). The finalize that simply
    follows the last chunk of the same run is not a new attempt.
    """
    token = secrets.token_hex(16)
    statement = claim_job_statement(
        job_id, seconds, phase=phase, token=token, new_attempt=new_attempt
    )
    result = session.execute(statement)
    return token if _rowcount(result) == 1 else None


def claim_job_statement(
    job_id: str, seconds: float, *, phase: str, token: str, new_attempt: bool = True
) -> Update:
    """The conditional UPDATE of `claim_job` (also planned by `ops optimize-queries`)."""
    now = utcnow()
    if phase == "prepare":
        ready = Job.chunks_total == 0
    else:
        ready = and_(Job.chunks_total > 0, Job.chunks_done >= Job.chunks_total)
    return (
        update(Job)
        .where(Job.id == job_id, Job.state.in_(ACTIVE_STATES), ready, _free(Job.lease_until))
        .values(
            state=JobState.RUNNING.value,
            started_at=func.coalesce(Job.started_at, now),
            lease_until=now + timedelta(seconds=seconds),
            claim_token=token,
            enqueued_at=None,  # the message was consumed: a lapse now means redelivery
            attempts=Job.attempts + (1 if new_attempt else 0),
        )
    )


def renew_job(session: Session, job_id: str, token: str, seconds: float) -> bool:
    """Extend a job lease; False if it is no longer ours or the job was cancelled."""
    result = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.claim_token == token, Job.state == JobState.RUNNING.value)
        .values(lease_until=utcnow() + timedelta(seconds=seconds))
    )
    return _rowcount(result) == 1


def claim_chunk(session: Session, job_id: str, index: int, seconds: float) -> str | None:
    """Claim one chunk of a running job; return the token, or None."""
    token = secrets.token_hex(16)
    result = session.execute(claim_chunk_statement(job_id, index, seconds, token=token))
    return token if _rowcount(result) == 1 else None


def claim_chunk_statement(
    job_id: str, index: int, seconds: float, *, token: str, keep_enqueued_at: bool = False
) -> Update:
    """The conditional UPDATE of `claim_chunk` (also planned by `ops optimize-queries`).

    `keep_enqueued_at`: the fair claim (`fairness.py`) runs before the chunk's phase
    starts, and the phase reads `enqueued_at` for the chunk's queue wait.
    """
    now = utcnow()
    values: dict[str, Any] = {} if keep_enqueued_at else {"enqueued_at": None}
    running = select(Job.id).where(Job.id == job_id, Job.state == JobState.RUNNING.value)
    return (
        update(JobChunk)
        .where(
            JobChunk.job_id == job_id,
            JobChunk.index == index,
            JobChunk.state.in_((ChunkState.QUEUED.value, ChunkState.RUNNING.value)),
            _free(JobChunk.lease_until),
            running.exists(),
        )
        .values(
            state=ChunkState.RUNNING.value,
            lease_until=now + timedelta(seconds=seconds),
            claim_token=token,
            attempts=JobChunk.attempts + 1,
            **values,
        )
        .execution_options(synchronize_session=False)
    )


def renew_chunk(
    session: Session, chunk_id: int, job_id: str, token: str, seconds: float, rows_done: int
) -> bool:
    """Extend a chunk lease and record its progress; False if it is no longer ours."""
    running = select(Job.id).where(Job.id == job_id, Job.state == JobState.RUNNING.value)
    result = session.execute(
        update(JobChunk)
        .where(JobChunk.id == chunk_id, JobChunk.claim_token == token, running.exists())
        .values(lease_until=utcnow() + timedelta(seconds=seconds), rows_done=rows_done)
        .execution_options(synchronize_session=False)
    )
    if _rowcount(result) != 1:
        return False
    sync_rows_done(session, job_id)
    return True


def live_leases(session: Session) -> int:
    """Job phases and chunks held under a live lease: work a worker is doing right now.

    A heartbeat renews the lease while the work runs, so one long chunk stays counted
    for its whole run; a dead worker's lease runs out and it drops from the count.
    """
    now = utcnow()
    running = JobState.RUNNING.value
    jobs = select(func.count()).where(Job.state == running, Job.lease_until > now)
    chunks = select(func.count()).where(
        JobChunk.state == ChunkState.RUNNING.value, JobChunk.lease_until > now
    )
    return int(session.scalar(jobs) or 0) + int(session.scalar(chunks) or 0)


def queued_jobs(session: Session) -> int:
    """Jobs waiting for their first worker: the backlog GenerationQueueBacklog watches.

    Jobs, not queue messages: a running job's chunk messages are progress, not backlog.
    """
    return int(session.scalar(select(func.count()).where(Job.state == JobState.QUEUED)) or 0)


def sync_rows_done(session: Session, job_id: str) -> None:
    """Set the job's rows_done to the sum over its chunks (right even after re-runs)."""
    total = (
        select(func.coalesce(func.sum(JobChunk.rows_done), 0))
        .where(JobChunk.job_id == job_id)
        .scalar_subquery()
    )
    session.execute(
        update(Job)
        .where(Job.id == job_id)
        .values(rows_done=total)
        .execution_options(synchronize_session=False)
    )


class Heartbeat:
    """Calls `renew` every `interval` seconds in a thread; sets `lost` once it fails."""

    def __init__(self, renew: Callable[[], bool], interval: float) -> None:
        self._renew = renew
        self._interval = interval
        self._stop = threading.Event()
        self.lost = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="lease-heartbeat", daemon=True)

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                if not self._renew():
                    self.lost.set()
                    return
            except Exception:  # a database hiccup: try again next beat, the lease has slack
                log.warning("lease renewal failed; retrying", exc_info=True)

    def check(self) -> None:
        """Raise `LeaseLost` if the lease has been lost."""
        if self.lost.is_set():
            raise LeaseLost()

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join()
