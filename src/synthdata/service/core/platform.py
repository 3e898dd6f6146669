"""Everything a process of the platform holds: database, storage, queue, runner, limits.

The API (`create_app`), the worker (`synthdata worker`) and the CLI build one
`Platform` from the same settings, which is how they agree on where things are.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_all
from dataclasses import dataclass, field
from typing import Any, TypeVar

from huey.consumer import Consumer
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from synthdata.jobs.queue import JobQueue
from synthdata.jobs.reaper import Reaper
from synthdata.jobs.runner import JobRunner
from synthdata.service.core.activity import Activity
from synthdata.service.core.availability import (
    PROBE_SECONDS,
    BoundedCheck,
    DatabaseHealth,
    database_unavailable,
)
from synthdata.service.core.circuit import RedisCircuit
from synthdata.service.core.db import make_engine, make_session_factory
from synthdata.service.core.dbwatchdog import DatabaseTimeouts
from synthdata.service.core.migrate import upgrade_head
from synthdata.service.core.ratelimit import MemoryCounter, RateLimiter, RedisCounter, Tarpit
from synthdata.service.core.settings import Settings
from synthdata.service.core.storage import Storage
from synthdata.service.customers.keycache import KeyCache

log = logging.getLogger("synthdata.service")

T = TypeVar("T")

READ_THREADS = 10
"""Threads that run hot reads (`Platform.read`); each holds at most one connection."""


@dataclass
class Platform:
    """The shared parts of one process; `start`/`stop` run the background threads."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    storage: Storage
    queue: JobQueue
    runner: JobRunner
    limiter: RateLimiter
    activity: Activity
    key_cache: KeyCache
    # Sessions for requests that only read (GET/HEAD): on SQLite they take no write
    # lock, so reads never queue behind writes or each other.
    read_sessions: sessionmaker[Session]
    # Whether the database answers (probed once a second): while it does not, requests
    # get 503 at once (`deps.get_session`, `read`) instead of waiting on it.
    database: DatabaseHealth
    # Skips Redis for a moment after it failed (shared with the rate limiter): job
    # messages sent on the request path (`jobs.service.send_prepare`); None: local queue.
    queue_circuit: RedisCircuit | None
    # Holds refused requests (429) a moment, so that a flood's refusals cost little.
    tarpit: Tarpit
    _read_engine: Engine | None = field(default=None, repr=False)
    _read_threads: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(READ_THREADS, thread_name_prefix="db-read"),
        repr=False,
    )
    _consumer: Consumer | None = field(default=None, repr=False)
    _reaper: Reaper | None = field(default=None, repr=False)
    _checks: dict[str, BoundedCheck] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._checks = {
            "database": self.database.check,
            "queue": BoundedCheck("queue", self.queue.ping),
            "storage": BoundedCheck("storage", self.storage.check),
        }

    @classmethod
    def build(cls, settings: Settings, *, migrate: bool | None = None) -> Platform:
        """Connect everything; run migrations first unless told not to."""
        if migrate if migrate is not None else settings.migrate_on_start:
            upgrade_head(settings.database_url)
        timeouts = DatabaseTimeouts(
            settings.database_connect_timeout_seconds, settings.database_statement_timeout_seconds
        )
        engine = make_engine(settings.database_url, timeouts=timeouts)
        sessions = make_session_factory(engine)
        # The embedded default is a directory under data_dir (as before the store existed).
        storage = Storage.open(settings)
        queue = JobQueue(settings)
        runner = JobRunner(settings, sessions, storage, queue)
        queue.bind(runner)
        redis_circuit = RedisCircuit(settings.redis_circuit_seconds, settings.redis_timeout_seconds)
        uses_redis = settings.uses_redis_rate_limits and settings.redis_url
        counter = (
            RedisCounter(
                settings.redis_url, settings.rate_limit_prefix, settings.redis_timeout_seconds
            )
            if uses_redis and settings.redis_url
            else MemoryCounter()
        )
        limiter = RateLimiter(
            counter,
            window=settings.rate_limit_window_seconds,
            per_key=settings.rate_limit_per_key,
            per_source=settings.rate_limit_per_source,
            per_source_per_second=settings.rate_limit_per_source_per_second,
            lockout_failures=settings.auth_lockout_failures,
            lockout_window=settings.auth_lockout_window_seconds,
            lockout_seconds=settings.auth_lockout_seconds,
            circuit=redis_circuit if uses_redis else None,
        )
        read_engine = (
            # A connection for every thread that may read at once (anyio's pool of 40 for
            # plain endpoints, plus the read threads), so no read waits for a connection.
            make_engine(
                settings.database_url,
                read_only=True,
                timeouts=timeouts,
                pool_size=50,
                max_overflow=0,
            )
            if engine.dialect.name == "sqlite"
            else None
        )
        read_sessions = make_session_factory(read_engine) if read_engine else sessions
        return cls(
            settings,
            engine,
            sessions,
            storage,
            queue,
            runner,
            limiter,
            Activity(sessions),
            KeyCache(settings.auth_cache_seconds),
            read_sessions,
            # Its own connection per probe, not the pool's: a pool that requests have
            # filled is a busy service, not an outage.
            DatabaseHealth(
                make_engine(settings.database_url, timeouts=timeouts, poolclass=NullPool)
            ),
            redis_circuit if settings.queue == "redis" else None,
            Tarpit(settings.rate_limit_tarpit_seconds, settings.rate_limit_tarpit_capacity),
            read_engine,
        )

    async def read(self, work: Callable[..., T], *args: Any) -> T:
        """`work(session, *args)` with a read-only session, for the hot read endpoints.

        On SQLite the read runs right here on the event loop: it is a local read of
        a page cache that takes less time than handing it to a thread and back would
        (and the GIL lets only one of them run anyway). On a networked database it
        runs on a read thread, one cheap hand-off (a plain executor, not anyio's
        thread pool with its cancel scopes), with the caller's context (trace span,
        request id). Either way the session is opened and closed around `work`, so its
        connection is back in the pool as soon as `work` returns; `work` reads with
        one statement (there is no enclosing transaction) and builds the response
        itself (loaded objects are detached afterwards).
        """
        if not self.database.available:
            raise database_unavailable()

        def run() -> T:
            # Autocommit: no BEGIN/ROLLBACK round trips around what is, on these
            # paths, one SELECT (a single statement reads one consistent snapshot).
            with self.read_sessions.kw["bind"].connect() as connection:
                connection = connection.execution_options(isolation_level="AUTOCOMMIT")
                with Session(bind=connection, expire_on_commit=False) as session:
                    return work(session, *args)

        if self._read_engine is not None:  # SQLite (see above)
            return run()
        context = contextvars.copy_context()
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._read_threads, context.run, run)

    def start(self, *, workers: int) -> None:
        """Start the database monitor, the reaper, and `workers` consumer threads."""
        self.database.start()
        self._reaper = Reaper(self.sessions, self.queue, self.settings, self.storage)
        self._reaper.start()
        if workers > 0:
            self._consumer = self.queue.consumer(workers, embedded=True)
            self._consumer.start()

    def stop(self) -> None:
        """Stop background threads (letting running tasks finish), then close the pool."""
        if self._consumer is not None:
            self._consumer.stop(graceful=True)
            self._consumer = None
        if self._reaper is not None:
            self._reaper.stop()
            self._reaper = None
        self._read_threads.shutdown(wait=True)
        self.database.stop()
        for check in self._checks.values():
            check.close()
        self.engine.dispose()
        if self._read_engine is not None:
            self._read_engine.dispose()

    def readiness(self) -> dict[str, str]:
        """Database, queue and storage: "ok" or "unavailable" each, within `PROBE_SECONDS`.

        Public (`/readyz`, `/status`), so it says which part fails and no more; why it
        fails (driver errors name hosts and ports) goes to the log, once per change.
        Each check runs on its own thread, one at a time, so a part that hangs makes
        the answer "unavailable", never a hung probe.
        """
        running = self._start_checks()
        wait_all(running.values(), timeout=PROBE_SECONDS)
        return self._verdicts(running)

    async def readiness_async(self) -> dict[str, str]:
        """`readiness` awaited on the event loop: no thread of the (maybe busy) pool waits."""
        running = {name: check.start() for name, check in self._checks.items()}
        await asyncio.wait(
            [asyncio.wrap_future(f) for f in running.values()], timeout=PROBE_SECONDS
        )
        return self._verdicts(running)

    def _start_checks(self) -> dict[str, Future[object]]:
        # While the monitor knows the database is down, its probe is not waited for:
        # during a stall it would only use up the time `/readyz` has.
        return {
            name: check.start()
            for name, check in self._checks.items()
            if name != "database" or self.database.available
        }

    def _verdicts(self, running: dict[str, Future[object]]) -> dict[str, str]:
        failures = {name: self._checks[name].verdict(f, timeout=0) for name, f in running.items()}
        failures.setdefault("database", "down (the monitor's last probe failed)")
        return {
            name: "ok" if failures[name] is None else "unavailable"
            for name in ("database", "queue", "storage")
        }
