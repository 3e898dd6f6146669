"""Everything a process of the platform holds: database, storage, queue, runner, limits.

The API (`create_app`), the worker (`synthdata worker`) and the CLI build one
`Platform` from the same settings, which is how they agree on where things are.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from huey.consumer import Consumer
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from synthdata.jobs.queue import JobQueue
from synthdata.jobs.reaper import Reaper
from synthdata.jobs.runner import JobRunner
from synthdata.service.core.activity import Activity
from synthdata.service.core.db import make_engine, make_session_factory
from synthdata.service.core.migrate import upgrade_head
from synthdata.service.core.ratelimit import MemoryCounter, RateLimiter, RedisCounter
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
    _read_engine: Engine | None = field(default=None, repr=False)
    _read_threads: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(READ_THREADS, thread_name_prefix="db-read"),
        repr=False,
    )
    _consumer: Consumer | None = field(default=None, repr=False)
    _reaper: Reaper | None = field(default=None, repr=False)

    @classmethod
    def build(cls, settings: Settings, *, migrate: bool | None = None) -> Platform:
        """Connect everything; run migrations first unless told not to."""
        if migrate if migrate is not None else settings.migrate_on_start:
            upgrade_head(settings.database_url)
        engine = make_engine(settings.database_url)
        sessions = make_session_factory(engine)
        storage = Storage(settings.data_dir)
        storage.root.mkdir(parents=True, exist_ok=True)
        queue = JobQueue(settings)
        runner = JobRunner(settings, sessions, storage, queue)
        queue.bind(runner)
        counter = (
            RedisCounter(settings.redis_url, settings.rate_limit_prefix)
            if settings.uses_redis_rate_limits and settings.redis_url
            else MemoryCounter()
        )
        limiter = RateLimiter(
            counter,
            window=settings.rate_limit_window_seconds,
            per_key=settings.rate_limit_per_key,
            per_source=settings.rate_limit_per_source,
            lockout_failures=settings.auth_lockout_failures,
            lockout_window=settings.auth_lockout_window_seconds,
            lockout_seconds=settings.auth_lockout_seconds,
        )
        read_engine = (
            # A connection for every thread that may read at once (anyio's pool of 40 for
            # plain endpoints, plus the read threads), so no read waits for a connection.
            make_engine(settings.database_url, read_only=True, pool_size=50, max_overflow=0)
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
        """Start the reaper, and `workers` consumer threads when workers > 0."""
        self._reaper = Reaper(self.sessions, self.queue, self.settings)
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
        self.engine.dispose()
        if self._read_engine is not None:
            self._read_engine.dispose()

    def readiness(self) -> dict[str, str]:
        """Check database, queue and storage; map each part to "ok" or why it failed."""
        checks: dict[str, str] = {}
        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
            checks["database"] = "ok"
        except Exception as exc:
            checks["database"] = _reason(exc)
        try:
            self.queue.ping()
            checks["queue"] = "ok"
        except Exception as exc:
            checks["queue"] = _reason(exc)
        try:
            self.storage.check_writable()
            checks["storage"] = "ok"
        except Exception as exc:
            checks["storage"] = _reason(exc)
        return checks


def _reason(exc: Exception) -> str:
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0] if lines else ''}"[:200]
