"""The database: declarative base, engine and session factory, ids and UTC times.

SQLite (the embedded default) is shared by the API process and the workers, so
it runs in WAL mode with a generous busy timeout; PostgreSQL needs nothing special.
With `timeouts`, no statement waits for ever: a connect timeout, the server's
statement_timeout (SQLite: the busy timeout) and, for a server that stops answering
at all, a client-side deadline (see `dbwatchdog`).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, MetaData, create_engine, event
from sqlalchemy.engine import Dialect, Engine, make_url
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from synthdata.observability.instrumentation import instrument_engine
from synthdata.service.core.dbwatchdog import DatabaseTimeouts, watch_engine

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Base of every table; constraint names are fixed so migrations are stable."""

    metadata = MetaData(naming_convention=NAMING)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in Python, stored naive-UTC so SQLite compares them correctly."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


def utcnow() -> datetime:
    """The current time, aware and in UTC."""
    return datetime.now(UTC)


def new_id(prefix: str) -> str:
    """A public id such as ``job_0190c3f1a2b34c5d6e7f8091a2b3``.

    It starts with the creation time in milliseconds, so ids sort in creation
    order and serve as pagination cursors; the random tail makes them unguessable.
    """
    return f"{prefix}_{int(time.time() * 1000):012x}{secrets.token_hex(8)}"


def make_engine(
    url: str,
    *,
    read_only: bool = False,
    timeouts: DatabaseTimeouts | None = None,
    **options: Any,
) -> Engine:
    """Create an engine; for SQLite, create the file's folder and tune for concurrency.

    With tracing on, statements run inside a traced request or job get spans.
    `read_only` (SQLite): transactions take no write lock (a WAL reader never waits
    for writers) and any write fails loudly; for requests that only read.
    `timeouts` bound connecting and every statement (the service's engines; the CLI's
    maintenance commands may legitimately run long statements and pass none).
    """
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        if timeouts is not None and parsed.get_backend_name() == "postgresql":
            options["connect_args"] = {
                **timeouts.postgres_args(),
                **options.get("connect_args", {}),
            }
        engine = create_engine(url, pool_pre_ping=True, **options)
        if timeouts is not None:
            watch_engine(engine, timeouts.client_deadline)
        instrument_engine(engine)
        return engine
    database = parsed.database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    busy_seconds = timeouts.statement if timeouts is not None else 30.0
    engine = create_engine(
        url, connect_args={"timeout": busy_seconds, "check_same_thread": False}, **options
    )

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        # pysqlite's own transaction handling defers BEGIN until the first write,
        # which lets a read snapshot go stale before a write; begin explicitly.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_seconds * 1000)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        if read_only:
            cursor.execute("PRAGMA query_only=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        if connection.get_execution_options().get("isolation_level") == "AUTOCOMMIT":
            return  # each statement is its own transaction (Platform.read)
        # IMMEDIATE takes the write lock at BEGIN, so two writers queue on the busy
        # timeout instead of one failing with "database is locked" mid-transaction.
        # A read-only transaction needs no lock: a snapshot of the WAL is enough.
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

    instrument_engine(engine)
    return engine


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded objects usable after commit (views return them)."""
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session that commits on success and rolls back on error."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def error_summary(exc: BaseException) -> str:
    """`Type: first line` of an error: a driver's message without the statement and
    parameters it goes on to print (one log line, a health verdict)."""
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0] if lines else ''}"


def database_location(url: str) -> str:
    """The database as a person should read it: a SQLite file's absolute path, otherwise
    the URL with its password hidden."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return parsed.render_as_string(hide_password=True)
    if not parsed.database or parsed.database == ":memory:":
        return "SQLite in memory"
    return str(Path(parsed.database).absolute())
