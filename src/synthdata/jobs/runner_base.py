"""What every step of a job shares: the lease heartbeat, failing a job, retrying a step.

The steps themselves are in `runner_prepare.py` (fit, plan) and `runner_chunks.py`
(run a chunk, finalize); `runner.JobRunner` puts them together.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from synthdata.jobs import leases, signals
from synthdata.jobs.leases import Heartbeat
from synthdata.jobs.leftovers import discard_quietly
from synthdata.jobs.models import Job, JobChunk
from synthdata.jobs.queue import JobQueue
from synthdata.jobs.transitions import (
    mark_failed,
    release_job,
)
from synthdata.service.core.db import session_scope, utcnow
from synthdata.service.core.settings import Settings
from synthdata.service.core.storage import Storage

log = logging.getLogger("synthdata.jobs")
T = TypeVar("T")


class UserFacingError(Exception):
    """A failure the customer can act on; its message becomes the job's error."""


class RunnerBase:
    """The database, storage and queue a step works with, and how a step fails."""

    def __init__(
        self,
        settings: Settings,
        sessions: sessionmaker[Session],
        storage: Storage,
        queue: JobQueue,
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.storage = storage
        self.queue = queue
        self.worker = socket.gethostname()

    def _tx(self, fn: Callable[[Session], T]) -> T:
        with session_scope(self.sessions) as session:
            return fn(session)

    def _job_heartbeat(self, job_id: str, token: str) -> Heartbeat:
        seconds = self.settings.job_lease_seconds
        return Heartbeat(
            lambda: self._tx(lambda s: leases.renew_job(s, job_id, token, seconds)),
            self.settings.job_heartbeat_seconds,
        )

    # -- failures -----------------------------------------------------------------------
    def fail(self, job_id: str, message: str) -> None:
        """Mark an active job failed (and its model, for a training job); drop its files."""
        log.info("job %s failed: %s", job_id, message)

        def record(session: Session) -> tuple[str, str] | None:
            if not mark_failed(session, job_id, message):
                return None
            job = session.get_one(Job, job_id)
            return job.kind, job.synthesizer

        failed = self._tx(record)
        if failed is not None:  # counted once committed, like a success
            signals.generation_failed(*failed)
        self._discard_if_ended(job_id)

    def _discard_if_ended(self, job_id: str) -> None:
        """Remove the job's files if it failed or was cancelled (see jobs/leftovers.py)."""
        discard_quietly(self.sessions, self.storage, job_id)

    def _retry_job(self, job_id: str, token: str, *, finalize: bool = False) -> None:
        job = self._tx(lambda s: s.get_one(Job, job_id))
        if job.attempts >= self.settings.job_max_attempts:
            self.fail(job_id, "internal error; the job failed after several attempts")
            return
        released = self._tx(lambda s: release_job(s, job_id, token))
        if released:
            delay = min(60.0, 2.0**job.attempts)
            send = self.queue.send_finalize if finalize else self.queue.send_prepare
            send(job_id, delay)

    def _retry_chunk(self, job_id: str, index: int, token: str) -> None:
        def release(session: Session) -> int | None:
            chunk = session.scalars(
                select(JobChunk).where(JobChunk.job_id == job_id, JobChunk.index == index)
            ).one()
            if chunk.claim_token != token:
                return None
            if chunk.attempts >= self.settings.job_max_attempts:
                return -1
            chunk.state, chunk.lease_until, chunk.claim_token = "queued", None, None
            chunk.enqueued_at = utcnow()
            return chunk.attempts

        attempts = self._tx(release)
        if attempts == -1:
            self.fail(job_id, f"internal error; chunk {index} failed after several attempts")
        elif attempts is not None:
            self.queue.send_chunk(job_id, index, min(60.0, 2.0**attempts))
