"""Time limits on the database: connecting, each statement, and a server that never answers.

PostgreSQL gets `connect_timeout` and a server-side `statement_timeout` (SQLite: the
busy timeout). Neither helps when the server or the network stops answering: the
driver then waits on its socket for ever (psycopg has no client-side query timeout),
and so do the request and the thread running it. The watchdog is that client-side
deadline: every statement and pool pre-ping is armed on entry and disarmed on exit;
one past its deadline gets its socket shut down, so the waiting driver call fails
at once as a dropped connection (which SQLAlchemy already handles: the connection
is discarded and the error reaches the caller as a disconnect) instead of hanging.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, event

log = logging.getLogger("synthdata.service")

_TICK = 0.1
"""How often the watchdog looks for statements past their deadline (seconds)."""


@dataclass(frozen=True)
class DatabaseTimeouts:
    """How long connecting and one statement may take (seconds)."""

    connect: float
    statement: float

    @property
    def client_deadline(self) -> float:
        """When the watchdog gives up on a statement: after the server should have
        cancelled it itself, so a slow statement gets the server's clean error."""
        return self.statement + max(1.0, self.connect)

    def postgres_args(self) -> dict[str, Any]:
        """libpq connection parameters (connect_timeout is whole seconds, at least 2)."""
        return {
            "connect_timeout": max(2, round(self.connect)),
            "options": f"-c statement_timeout={int(self.statement * 1000)}",
        }


class _Watchdog:
    """Deadlines of the statements running now, checked by one daemon thread."""

    def __init__(self) -> None:
        # id(dbapi connection) -> (deadline, descriptor, the socket's inode)
        self._armed: dict[int, tuple[float, int, int]] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def arm(self, dbapi_connection: Any, seconds: float) -> None:
        try:
            fd = int(dbapi_connection.fileno())
            inode = os.fstat(fd).st_ino
        except Exception:  # already closed: nothing can hang on it
            return
        with self._lock:
            self._armed[id(dbapi_connection)] = (time.monotonic() + seconds, fd, inode)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="db-watchdog", daemon=True)
                self._thread.start()

    def disarm(self, dbapi_connection: Any) -> None:
        with self._lock:
            self._armed.pop(id(dbapi_connection), None)

    @contextmanager
    def guard(self, dbapi_connection: Any, seconds: float) -> Iterator[None]:
        self.arm(dbapi_connection, seconds)
        try:
            yield
        finally:
            self.disarm(dbapi_connection)

    def _run(self) -> None:
        while True:
            time.sleep(_TICK)
            now = time.monotonic()
            with self._lock:
                for key, (deadline, fd, inode) in list(self._armed.items()):
                    if deadline <= now:
                        del self._armed[key]
                        _shut_down(fd, inode)


def _shut_down(fd: int, inode: int) -> None:
    try:
        # A connection is disarmed before it is closed; the inode check also covers one
        # that was not (its descriptor may since belong to another socket).
        if os.fstat(fd).st_ino != inode:
            return
        # A duplicate descriptor of the same socket: shutting it down ends the driver's
        # wait, and closing it leaves the driver's own descriptor for the driver to close.
        with socket.socket(fileno=os.dup(fd)) as sock:
            sock.shutdown(socket.SHUT_RDWR)
        log.warning("database statement got no answer in time; its connection was cut")
    except OSError:
        pass


_WATCHDOG = _Watchdog()


def watch_engine(engine: Engine, seconds: float) -> None:
    """Give every statement (and pre-ping) of `engine` a client-side deadline of `seconds`."""

    @event.listens_for(engine, "before_cursor_execute")
    def _arm(connection: Any, *_: Any) -> None:
        _WATCHDOG.arm(connection.connection.dbapi_connection, seconds)

    @event.listens_for(engine, "after_cursor_execute")
    def _disarm(connection: Any, *_: Any) -> None:
        _WATCHDOG.disarm(connection.connection.dbapi_connection)

    @event.listens_for(engine, "handle_error")
    def _disarm_on_error(context: Any) -> None:
        # No connection (pre-ping, connect), or one already invalidated: nothing armed.
        with contextlib.suppress(Exception):
            _WATCHDOG.disarm(context.connection.connection.dbapi_connection)

    # The pool's pre-ping runs below the statement events; a stalled server would hang
    # every checkout there, so it gets the same deadline. (SQLAlchemy has no event
    # around the ping; the dialect belongs to this engine alone.)
    dialect = engine.dialect
    ping = dialect.do_ping

    def guarded_ping(dbapi_connection: Any) -> bool:
        with _WATCHDOG.guard(dbapi_connection, seconds):
            return bool(ping(dbapi_connection))

    dialect.do_ping = guarded_ping  # type: ignore[method-assign]
