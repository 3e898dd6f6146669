"""Whether the database (and the other parts) answer, found out without hanging.

A database outage must not turn into a 500 with a traceback for every request, nor
hang requests and probes:

- `is_unavailable(exc)` tells "the database cannot be reached or did not answer in
  time" (503 `database-unavailable` with Retry-After) from a bug (500).
- `DatabaseHealth` probes the database once a second from a monitor thread, with a
  bounded wait, and logs one line when it goes down and one when it is back. While it
  is down, requests are answered 503 at once instead of each waiting for its own
  timeout (and holding a thread meanwhile); the next good probe lets them through
  again, without a restart.
- `BoundedCheck` runs a check on its own thread, one at a time, and gives up waiting
  after a deadline: `/readyz` answers in well under a second whatever hangs.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from synthdata.service.core.db import error_summary
from synthdata.service.core.problems import Problem, problem_response

log = logging.getLogger("synthdata.service")

RETRY_AFTER_SECONDS = 5
"""What a 503 for an unreachable database tells clients to wait before retrying."""

PROBE_SECONDS = 0.5
"""How long `/readyz` waits for a check (database, queue, storage) before calling it failing."""

OUTAGE_PROBE_SECONDS = 2.0
"""How long the monitor's probe may take before it counts as unanswered. Longer than
`PROBE_SECONDS`: declaring an outage answers every request 503, so a slow moment of a
loaded machine must not do it."""

UNANSWERED_PROBES_FOR_OUTAGE = 2
"""Probes in a row that got no answer in time before a database that was up counts as
down. A probe that fails (refused, reset, timed out by the server) declares it at once;
one slow probe may be a busy machine (a long GIL-holding step, a full pool)."""

MONITOR_INTERVAL_SECONDS = 1.0
"""How often the monitor thread probes the database."""

NO_ANSWER = "no answer in time"

_SQLITE_UNAVAILABLE = ("database is locked", "unable to open database file", "disk i/o error")


def is_unavailable(exc: BaseException) -> bool:
    """Whether `exc` means the database could not be reached or did not answer in time."""
    if isinstance(exc, PoolTimeout):  # no free connection within the pool's timeout
        return True
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    original = exc.orig
    if isinstance(original, sqlite3.Error):
        # SQLite raises OperationalError for bad SQL too: only these mean "unavailable".
        return isinstance(original, sqlite3.OperationalError) and str(original).lower().startswith(
            _SQLITE_UNAVAILABLE
        )
    # psycopg: connection failures, timeouts, server shutdown and statement_timeout
    # (QueryCanceled) are OperationalError; a connection already broken InterfaceError.
    return isinstance(exc, (OperationalError, InterfaceError))


def database_unavailable() -> Problem:
    """The answer while the database cannot be reached."""
    return Problem(
        503,
        "the database is unavailable right now; retry shortly",
        kind="database-unavailable",
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


class BoundedCheck:
    """A check run on its own thread, at most one at a time, waited for with a deadline.

    A check that hangs keeps its thread, but no second one is started behind it: the
    callers meanwhile see it failing ("no answer within ...") at their deadline.
    """

    def __init__(self, name: str, check: Callable[[], object]) -> None:
        self.name = name
        self._check = check
        self._executor = ThreadPoolExecutor(1, thread_name_prefix=f"check-{name}")
        self._running: Future[object] | None = None
        self._lock = threading.Lock()
        self._failing: str | None = None  # why it failed last time (logged on change)

    def start(self) -> Future[object]:
        """The check running now, or a new one."""
        with self._lock:
            if self._running is None or self._running.done():
                self._running = self._executor.submit(self._check)
            return self._running

    def verdict(self, future: Future[object], timeout: float) -> str | None:
        """None when `future` succeeded within `timeout`, else why not (logged on change)."""
        try:
            future.result(timeout=timeout)
            reason = None
        except FutureTimeout:
            reason = NO_ANSWER
        except Exception as exc:
            reason = error_summary(exc)[:300]
        if (reason is None) != (self._failing is None):
            if reason is None:
                log.info("%s: answering again", self.name)
            else:
                log.warning("%s: failing: %s", self.name, reason)
        self._failing = reason
        return reason

    def run(self, timeout: float) -> str | None:
        return self.verdict(self.start(), timeout)

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


class DatabaseHealth:
    """Whether the database answers, as last probed; `available` does no I/O."""

    def __init__(self, engine: Engine) -> None:
        """`engine` is the health's own (disposed on `stop`), ideally without a pool."""
        self._engine = engine
        self.available = True  # until a probe says otherwise
        self.check = BoundedCheck("database", lambda: _ping(engine))
        self._down_since = 0.0
        self._unanswered = 0  # probes in a row with no answer in time
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def probe(self, timeout: float = OUTAGE_PROBE_SECONDS) -> bool:
        """Probe now (or wait for the probe already running), and record the outcome."""
        return self.record(self.check.run(timeout))

    def record(self, failure: str | None) -> bool:
        """Note a probe's outcome; log the transitions, once each."""
        self._unanswered = self._unanswered + 1 if failure == NO_ANSWER else 0
        if self.available and 0 < self._unanswered < UNANSWERED_PROBES_FOR_OUTAGE:
            return True  # one slow probe of a database that was up: wait for the next
        if failure is None and not self.available:
            log.warning(
                "database available again after %.1f s", time.monotonic() - self._down_since
            )
        elif failure is not None and self.available:
            self._down_since = time.monotonic()
            log.warning("database unavailable; answering 503 until it is back")
        self.available = failure is None
        return self.available

    def suspect(self) -> None:
        """A request saw the database fail: probe now instead of at the next tick."""
        self._wake.set()

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._monitor, name="db-monitor", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=OUTAGE_PROBE_SECONDS + 1)
            self._thread = None
        self.check.close()
        self._engine.dispose()

    def _monitor(self) -> None:
        while not self._stop.is_set():
            self.probe()
            self._wake.wait(MONITOR_INTERVAL_SECONDS)
            self._wake.clear()


def _ping(engine: Engine) -> None:
    # Autocommit: no transaction, so on SQLite no BEGIN IMMEDIATE waiting for the write
    # lock (a long write elsewhere is not an outage).
    with engine.connect() as connection:
        connection.execution_options(isolation_level="AUTOCOMMIT").execute(text("SELECT 1"))


def install_database_errors(app: FastAPI, health: DatabaseHealth) -> None:
    """Answer 503 for database errors that mean "unreachable"; others stay bugs (500)."""

    @app.exception_handler(SQLAlchemyError)
    async def _database_error(_: Request, exc: SQLAlchemyError) -> JSONResponse:
        if not is_unavailable(exc):
            raise exc  # a bug: the generic handler logs it and answers 500
        health.suspect()
        problem = database_unavailable()
        return problem_response(
            problem.status, problem.detail, kind=problem.kind, headers=problem.headers
        )
