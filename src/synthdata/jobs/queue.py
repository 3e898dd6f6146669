"""The job queue: Huey on SQLite (embedded) or Redis (workers at scale), one code path.

A message carries only ids ("prepare job X", "run chunk 3 of job X", "finalize
job X"); the task reads everything else from the database. Huey deletes a
message when a worker takes it, so a worker killed mid-task loses it: the
reaper (see `reaper.py`) notices the expired lease and sends it again.

Prepare and finalize messages go ahead of chunk messages, and a chunk message runs
whichever waiting chunk is fairest across tenants (`fairness.py`): one tenant's
backlog of chunks does not hold back another tenant's job.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from huey import RedisHuey, SqliteHuey
from huey.api import Huey
from huey.consumer import Consumer
from huey.storage import PriorityRedisStorage

from synthdata.jobs import fairness
from synthdata.service.core.settings import Settings

if TYPE_CHECKING:
    from synthdata.jobs.runner import JobRunner

log = logging.getLogger("synthdata.jobs")

_READ_TIMEOUT = 1
"""Seconds a worker's blocking pop waits for a message before polling again."""

_JOB_STEP_PRIORITY = 10
"""Prepare and finalize before chunks: a job's first step must not wait behind a backlog."""


class _PriorityRedisStorage(PriorityRedisStorage):
    """Huey's sorted-set queue (Redis 5+), under a key of its own.

    Versions before fair scheduling kept a plain list at `huey.redis.<name>`; a sorted
    set under that key would fail with WRONGTYPE while such a list exists. Messages
    left in the old list are re-sent by the reaper (`job_redeliver_seconds`).
    """

    def __init__(self, name: str = "huey", **kwargs: Any) -> None:
        super().__init__(name, **kwargs)
        self.queue_key = f"huey.pqueue.{self.name}"


class _PriorityRedisHuey(RedisHuey):
    storage_class = _PriorityRedisStorage


def make_huey(settings: Settings) -> Huey:
    """The Huey instance the settings call for (same name = same queue everywhere)."""
    if settings.queue == "redis":
        assert settings.redis_url is not None  # checked by Settings
        from redis import ConnectionPool

        # Bounded socket waits: a stalled Redis must not hang a request sending a job
        # message. A blocking pop waits `read_timeout` by design, so reads get that long
        # plus the short Redis timeout.
        pool = ConnectionPool.from_url(
            settings.redis_url,
            socket_timeout=_READ_TIMEOUT + settings.redis_timeout_seconds,
            socket_connect_timeout=settings.redis_timeout_seconds,
        )
        return _PriorityRedisHuey(
            settings.queue_name,
            connection_pool=pool,
            results=False,
            blocking=True,
            read_timeout=_READ_TIMEOUT,
        )
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return SqliteHuey(
        settings.queue_name,
        filename=str(settings.data_dir / "queue.db"),
        results=False,
        timeout=30,
    )


class JobQueue:
    """Sends job messages, and runs them through a bound `JobRunner` when consuming."""

    def __init__(self, settings: Settings, huey: Huey | None = None) -> None:
        self.settings = settings
        self.huey = huey or make_huey(settings)
        self._runner: JobRunner | None = None
        first = _JOB_STEP_PRIORITY
        self._prepare = self.huey.task(name="prepare_job", priority=first)(self._run_prepare)
        self._chunk = self.huey.task(name="run_chunk")(self._run_chunk)
        self._finalize = self.huey.task(name="finalize_job", priority=first)(self._run_finalize)

    def bind(self, runner: JobRunner) -> None:
        """Attach the runner that executes messages taken from this queue."""
        self._runner = runner

    # -- sending ------------------------------------------------------------------------
    def send_prepare(self, job_id: str, delay: float = 0) -> None:
        self._send(self._prepare, (job_id,), delay)

    def send_chunk(self, job_id: str, index: int, delay: float = 0) -> None:
        self._send(self._chunk, (job_id, index), delay)

    def send_finalize(self, job_id: str, delay: float = 0) -> None:
        self._send(self._finalize, (job_id,), delay)

    def _send(self, task: Any, args: tuple[Any, ...], delay: float) -> None:
        if delay > 0:
            task.schedule(args=args, delay=delay)
        else:
            task(*args)

    def pending(self) -> int:
        """Messages waiting in the queue (the queue-length gauge reads this)."""
        return int(self.huey.pending_count())

    def ping(self) -> None:
        """Raise if the queue's storage cannot be reached."""
        self.pending()

    # -- consuming ----------------------------------------------------------------------
    def _runner_or_fail(self) -> JobRunner:
        if self._runner is None:
            raise RuntimeError("JobQueue.bind(runner) must be called before consuming")
        return self._runner

    def _run_prepare(self, job_id: str) -> None:
        self._runner_or_fail().prepare(job_id)

    def _run_chunk(self, job_id: str, index: int) -> None:
        """Run the fairest waiting chunk (not necessarily `index` of `job_id`)."""
        runner = self._runner_or_fail()
        settings = self.settings
        claim = fairness.claim_chunk(
            runner.sessions, settings, job_id, index, settings.job_lease_seconds
        )
        if isinstance(claim, fairness.Busy):  # another worker was claiming: try again
            self.send_chunk(job_id, index)
            return
        if claim is None:
            return
        try:
            runner.run_chunk(claim.job_id, claim.index, claimed=claim.token)
        finally:
            if fairness.limits_configured(settings):  # a slot is free: wake parked chunks
                self._wake(runner)

    def _wake(self, runner: JobRunner) -> None:
        try:
            woken = fairness.wake(runner.sessions, self.settings)
        except Exception:  # the reaper re-sends parked chunks of tenants under their limit
            log.warning("could not wake parked chunks", exc_info=True)
            return
        for job_id, index in woken:
            self.send_chunk(job_id, index)

    def _run_finalize(self, job_id: str) -> None:
        self._runner_or_fail().finalize(job_id)

    def consumer(self, workers: int, *, embedded: bool) -> Consumer:
        """A Huey consumer with `workers` threads; embedded ones leave signals alone."""
        cls = _EmbeddedConsumer if embedded else Consumer
        return cls(
            self.huey,
            workers=workers,
            periodic=False,
            initial_delay=0.05,
            backoff=1.5,
            max_delay=self.settings.queue_poll_max_seconds,
            worker_type="thread",
        )


class _EmbeddedConsumer(Consumer):
    """A consumer running inside another server: the host owns the signal handlers."""

    def _set_signal_handlers(self) -> None:
        pass
