"""Recovering work whose worker died or whose message was lost.

Runs at start and then periodically in every `serve` and `worker` process (any
number of them may run: each re-send is a conditional UPDATE, and a duplicate
message is harmless because the task must claim its row first). Work is re-sent when

- its lease expired (the worker died mid-task: Huey had already removed the message), or
- it has waited longer than `job_redeliver_seconds` without being claimed and the
  queue holds fewer messages than there is such work (a message was lost).

A chunk parked by fair scheduling (no message, see `fairness.py`) counts as lost work,
unless its tenant runs as many chunks as its plan allows: it waits for a free slot.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Select, and_, or_, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from synthdata.jobs import fairness
from synthdata.jobs.models import ACTIVE_STATES, ChunkState, Job, JobChunk, JobState
from synthdata.jobs.orphans import sweep_orphans
from synthdata.jobs.queue import JobQueue
from synthdata.service.core.db import error_summary, session_scope, utcnow
from synthdata.service.core.settings import Settings
from synthdata.service.core.storage import Storage

log = logging.getLogger("synthdata.jobs")

STORE_CHECK_SECONDS = 30.0
"""How often each process probes the artifact store (a write, a read and a delete)."""


@dataclass
class Redelivered:
    """What one pass re-sent."""

    prepare: list[str] = field(default_factory=list)
    finalize: list[str] = field(default_factory=list)
    chunks: list[tuple[str, int]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.prepare) + len(self.finalize) + len(self.chunks)


def _job_filter(now: datetime, stale_cut: datetime | None) -> ColumnElement[bool]:
    phase = or_(Job.chunks_total == 0, Job.chunks_done >= Job.chunks_total)
    lapsed = and_(Job.lease_until.isnot(None), Job.lease_until < now)
    waiting = and_(
        Job.lease_until.is_(None),
        or_(Job.enqueued_at.is_(None), Job.enqueued_at < (stale_cut or now)),
    )
    due = or_(lapsed, waiting) if stale_cut is not None else lapsed
    return and_(Job.state.in_(ACTIVE_STATES), phase, due)


def _chunk_filter(
    now: datetime, stale_cut: datetime | None, held: frozenset[str] = frozenset()
) -> ColumnElement[bool]:
    """`held`: tenants at their concurrency limit, whose parked chunks are not due."""
    active = select(Job.id).where(Job.id == JobChunk.job_id, Job.state == JobState.RUNNING.value)
    lapsed = and_(JobChunk.lease_until.isnot(None), JobChunk.lease_until < now)
    waiting = and_(
        JobChunk.lease_until.is_(None),
        or_(JobChunk.enqueued_at.is_(None), JobChunk.enqueued_at < (stale_cut or now)),
    )
    due = or_(lapsed, waiting) if stale_cut is not None else lapsed
    states = JobChunk.state.in_((ChunkState.QUEUED.value, ChunkState.RUNNING.value))
    if held:
        at_limit = select(Job.id).where(Job.id == JobChunk.job_id, Job.customer_id.in_(held))
        covered = or_(JobChunk.lease_until.isnot(None), JobChunk.enqueued_at.isnot(None))
        due = and_(due, or_(covered, ~at_limit.exists()))
    return and_(states, active.exists(), due)


def due_jobs_query(now: datetime, stale_cut: datetime | None) -> Select[str, int]:
    """Jobs whose prepare/finalize needs a message (also planned by `ops optimize-queries`)."""
    return select(Job.id, Job.chunks_total).where(_job_filter(now, stale_cut))


def due_chunks_query(
    now: datetime, stale_cut: datetime | None, held: frozenset[str] = frozenset()
) -> Select[int, str, int]:
    """Chunks that need a message (also planned by `ops optimize-queries`)."""
    due = _chunk_filter(now, stale_cut, held)
    return select(JobChunk.id, JobChunk.job_id, JobChunk.index).where(due)


def _stale_cut(
    session: Session, queue: JobQueue, settings: Settings, now: datetime, held: frozenset[str]
) -> datetime | None:
    """The enqueue time before which waiting work counts as lost, or None to skip that rule."""
    cut = now - timedelta(seconds=settings.job_redeliver_seconds)
    waiting = len(session.scalars(select(Job.id).where(_job_filter(now, cut))).all())
    chunks = select(JobChunk.id).where(_chunk_filter(now, cut, held))
    waiting += len(session.scalars(chunks).all())
    if waiting == 0:
        return None
    try:
        pending = queue.pending()
    except Exception:
        log.warning("cannot read the queue length; not re-sending waiting work", exc_info=True)
        return None
    return cut if pending < waiting else None


def reap(sessions: sessionmaker[Session], queue: JobQueue, settings: Settings) -> Redelivered:
    """One recovery pass: re-send every piece of work that needs a message."""
    done = Redelivered()
    now = utcnow()
    with session_scope(sessions) as session:
        held = frozenset(fairness.tenants_at_limit(session, settings, now))
        stale_cut = _stale_cut(session, queue, settings, now, held)
        jobs = session.execute(due_jobs_query(now, stale_cut)).all()
        for job_id, chunks_total in jobs:
            taken = session.execute(
                update(Job)
                .where(Job.id == job_id, _job_filter(now, stale_cut))
                .values(lease_until=None, claim_token=None, enqueued_at=now)
            )
            if int(taken.rowcount) == 1:  # type: ignore[attr-defined]
                (done.finalize if chunks_total else done.prepare).append(job_id)
        chunks = session.execute(due_chunks_query(now, stale_cut, held)).all()
        for chunk_id, job_id, index in chunks:
            taken = session.execute(
                update(JobChunk)
                .where(JobChunk.id == chunk_id, _chunk_filter(now, stale_cut, held))
                .values(
                    state=ChunkState.QUEUED.value,
                    lease_until=None,
                    claim_token=None,
                    enqueued_at=now,
                )
                .execution_options(synchronize_session=False)
            )
            if int(taken.rowcount) == 1:  # type: ignore[attr-defined]
                done.chunks.append((job_id, index))
    # Send after commit, so the task sees the released rows.
    for job_id in done.prepare:
        queue.send_prepare(job_id)
    for job_id in done.finalize:
        queue.send_finalize(job_id)
    for job_id, index in done.chunks:
        queue.send_chunk(job_id, index)
    if len(done):
        log.warning(
            "re-sent lapsed or lost work: %d prepare, %d chunk, %d finalize",
            len(done.prepare),
            len(done.chunks),
            len(done.finalize),
        )
    return done


class Reaper:
    """Runs `reap` now and then every `reaper_interval_seconds` in a daemon thread, and
    the orphan sweep (`jobs/orphans.py`) now and then every `orphan_sweep_interval_seconds`."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        queue: JobQueue,
        settings: Settings,
        storage: Storage,
    ) -> None:
        self._sessions = sessions
        self._queue = queue
        self._settings = settings
        self._storage = storage
        self._next_sweep = 0.0  # monotonic time of the next orphan sweep: at start
        self._next_store_check = 0.0  # ... and of the next store probe
        self._store_ok = True
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="job-reaper", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def _loop(self) -> None:
        interval = self._settings.reaper_interval_seconds
        while True:
            try:
                reap(self._sessions, self._queue, self._settings)
            except DBAPIError as exc:  # the database is down: one line, try next pass
                log.warning("job reaper pass failed: %s", error_summary(exc))
            except Exception:
                log.exception("job reaper pass failed")
            if time.monotonic() >= self._next_store_check:
                self._check_store()
            if time.monotonic() >= self._next_sweep:
                self._sweep()
            if self._stop.wait(interval):
                return

    def _check_store(self) -> None:
        """Probe the artifact store (sets `synthdata_store_up`): a worker has no readiness
        probe, and ObjectStoreUnreachable must fire from the workers' view too. One log line per
        change, not one per pass."""
        self._next_store_check = time.monotonic() + STORE_CHECK_SECONDS
        try:
            self._storage.check()
        except Exception as exc:
            if self._store_ok:
                log.warning("artifact store %s unusable: %s", self._storage.store.describe(), exc)
            self._store_ok = False
            return
        if not self._store_ok:
            log.warning("artifact store %s usable again", self._storage.store.describe())
        self._store_ok = True

    def _sweep(self) -> None:
        settings = self._settings
        # Scheduled first: a sweep that fails (the database is down) waits a whole
        # interval too, rather than adding a traceback to every reaper pass.
        self._next_sweep = time.monotonic() + settings.orphan_sweep_interval_seconds
        try:
            sweep = sweep_orphans(self._sessions, self._storage, settings.orphan_grace_seconds)
        except Exception as exc:
            log.warning(
                "orphan sweep failed (next in %.0f s): %s",
                settings.orphan_sweep_interval_seconds,
                exc,
            )
            return
        if sweep.removed:
            log.warning(
                "removed %d orphaned object(s), %d bytes, from %s",
                len(sweep.removed),
                sweep.removed_bytes,
                self._storage.store.describe(),
            )
