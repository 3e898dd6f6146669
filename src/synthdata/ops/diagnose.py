"""What the runbook's "Alert Investigation" commands share: thresholds, time windows,
and probes that turn "could not reach it" into an `unreachable` finding, never a traceback.

The commands themselves live beside this module: `health.py` (health-check),
`deployments.py` (check-recent-deployments), `resources.py` (check-resources) and
`logs.py` (check-error-logs, check-log-pipeline).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
from sqlalchemy import Engine, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from synthdata.ops.report import Report, Status
from synthdata.service.core.settings import Settings

# The alert thresholds of monitoring/prometheus/rules/ (tests/ops check they still match).
CPU_THRESHOLD = 0.8  # resources.yml HighCPUUtilization: CPU used / CPU limit
MEMORY_THRESHOLD = 0.8  # resources.yml HighMemoryUtilization: working set / limit
DISK_THRESHOLD = 0.85  # resources.yml HighDiskUsage: 1 - avail / size
QUEUE_BACKLOG = 50  # generation.yml GenerationQueueBacklog: queued jobs
QUEUE_STALLED = timedelta(minutes=15)  # generation.yml GenerationQueueStalled: progress window
LOG_FRESHNESS = timedelta(minutes=15)  # newest log line older than this: the pipeline stalls

HTTP_TIMEOUT_SECONDS = 5.0


def age_text(age: timedelta) -> str:
    """`42s`, `7m`, `3h12m`, `2d4h`: how long ago, rounded for a person."""
    seconds = max(0, int(age.total_seconds()))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m"
    if seconds < 86400:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 86400}d{seconds % 86400 // 3600}h"


def size_text(size: float) -> str:
    """Bytes in the largest binary unit that keeps the number at or above 1."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(size) < 1024 or unit == "TiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


def safe_url(url: str) -> str:
    """`url` with any password replaced by `***`, for printing."""
    try:
        parts = urlsplit(url)
        if parts.password is None:
            return url
        host = parts.hostname or ""
        netloc = f"{parts.username or ''}:***@{host}" + (f":{parts.port}" if parts.port else "")
        return urlunsplit(parts._replace(netloc=netloc))
    except ValueError:
        return "<unparsable URL>"


def reason(exc: BaseException) -> str:
    """The first line of an error, with its type, for one table cell."""
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0] if lines else ''}".rstrip(": ")[:300]


def not_configured(report: Report, name: str, setting: str) -> None:
    """An `info` finding: this part is not configured, so it was not checked."""
    report.add(name, "info", f"not configured (SYNTHDATA_{setting.upper()} is empty)")


def http_client() -> httpx.Client:
    """The HTTP client every probe uses: short timeouts, so a dead endpoint costs seconds."""
    return httpx.Client(timeout=HTTP_TIMEOUT_SECONDS)


def fetch(
    report: Report, name: str, client: httpx.Client, method: str, url: str, **kwargs: Any
) -> httpx.Response | None:
    """Send one request; on a connection failure add an `unreachable` finding, return None."""
    try:
        return client.request(method, url, **kwargs)
    except httpx.HTTPError as exc:
        report.add(name, "unreachable", f"cannot reach {safe_url(url)} ({reason(exc)})", url=url)
        return None


def json_of(response: httpx.Response) -> Any:
    """The response's JSON body, or None when it is not JSON."""
    try:
        return response.json()
    except ValueError:
        return None


# -- database -----------------------------------------------------------------------------
def _database_url(settings: Settings) -> URL | None:
    try:
        return make_url(settings.database_url)
    except ArgumentError:
        return None


def database_label(settings: Settings) -> str:
    """The database URL without its password."""
    url = _database_url(settings)
    return url.render_as_string(hide_password=True) if url else "<unparsable database URL>"


def sqlite_file(settings: Settings) -> Path | None:
    """The SQLite database file, or None for another database."""
    url = _database_url(settings)
    if url is None or url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return Path(str(url.database))


@contextmanager
def connected_database(report: Report, settings: Settings) -> Iterator[Engine | None]:
    """Connect and `SELECT 1`, adding the "database" finding; yield the engine or None.

    A SQLite file that does not exist is reported, not created (connecting would create
    an empty database and hide that the service points elsewhere).
    """
    from synthdata.service.core.db import make_engine

    label = database_label(settings)
    url = _database_url(settings)
    path = sqlite_file(settings)
    if url is None or (path is not None and not path.is_file()):
        problem = "unparsable database URL" if url is None else f"SQLite file {path} is missing"
        report.add("database", "fail", problem, url=label)
        yield None
        return
    # A PostgreSQL host that drops packets must not hang the check for minutes.
    sqlite = url.get_backend_name() == "sqlite"
    options: dict[str, Any] = {} if sqlite else {"connect_args": {"connect_timeout": 5}}
    engine: Engine | None = None
    try:
        engine = make_engine(settings.database_url, **options)
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except (SQLAlchemyError, ImportError) as exc:
        if engine is not None:
            engine.dispose()
        report.add("database", "unreachable", f"cannot connect to {label} ({reason(exc)})")
        yield None
        return
    report.add("database", "ok", f"connected to {label}, SELECT 1 answered", url=label)
    try:
        yield engine
    finally:
        engine.dispose()


# -- queue --------------------------------------------------------------------------------
def check_queue(report: Report, settings: Settings, engine: Engine | None = None) -> int | None:
    """The "queue" finding: reachable, and the backlog against GenerationQueueBacklog's
    threshold. The alert counts queued jobs (from the database, `engine`), not messages:
    one running job of 150 chunks is 150 messages and no backlog at all."""
    from huey.exceptions import HueyException

    from synthdata.jobs.queue import make_huey

    if settings.queue == "local":
        queue_file = settings.data_dir / "queue.db"
        if not queue_file.is_file():  # make_huey would create an empty queue here
            report.add("queue", "fail", f"local queue file {queue_file} does not exist")
            return None
        where = str(queue_file)
    else:
        where = safe_url(settings.redis_url or "")
    try:
        length = int(make_huey(settings).pending_count())
    except (OSError, HueyException) as exc:
        report.add("queue", "fail", f"{settings.queue} queue at {where}: {reason(exc)}")
        return None
    except Exception as exc:  # redis-py's errors, the SQLite driver's
        if _is_connection_error(exc):
            report.add("queue", "unreachable", f"cannot reach the queue at {where} ({reason(exc)})")
        else:
            report.add("queue", "fail", f"{settings.queue} queue at {where}: {reason(exc)}")
        return None
    detail = f"{length} message(s) waiting in the {settings.queue} queue {settings.queue_name!r}"
    queued = _queued_jobs(engine)
    status: Status = "warn" if queued is not None and queued > QUEUE_BACKLOG else "ok"
    if queued is None:
        detail += "; queued jobs unknown (no database)"
    else:
        detail += f"; {queued} job(s) queued"
        if status == "warn":
            detail += f" (backlog alert above {QUEUE_BACKLOG})"
    report.add("queue", status, detail, length=length, jobs_queued=queued)
    return length


def _queued_jobs(engine: Engine | None) -> int | None:
    if engine is None:
        return None
    from sqlalchemy.orm import Session

    from synthdata.jobs.leases import queued_jobs

    try:
        with Session(engine) as session:
            return queued_jobs(session)
    except SQLAlchemyError:
        return None  # a database without the schema yet: the database finding says so


def _is_connection_error(exc: Exception) -> bool:
    import redis

    return isinstance(exc, redis.ConnectionError | redis.TimeoutError)


def check_redis(report: Report, settings: Settings) -> dict[str, Any] | None:
    """The "redis" finding (PING); returns Redis's INFO memory section when it answered."""
    import redis

    if not settings.redis_url:
        not_configured(report, "redis", "redis_url")
        return None
    where = safe_url(settings.redis_url)
    client = redis.Redis.from_url(
        settings.redis_url, socket_connect_timeout=HTTP_TIMEOUT_SECONDS, socket_timeout=5
    )
    try:
        client.ping()
        memory: dict[str, Any] = dict(client.info("memory"))
    except (redis.ConnectionError, redis.TimeoutError) as exc:
        report.add("redis", "unreachable", f"cannot reach {where} ({reason(exc)})", url=where)
        return None
    except redis.RedisError as exc:
        report.add("redis", "fail", f"{where}: {reason(exc)}", url=where)
        return None
    finally:
        client.close()
    report.add("redis", "ok", f"PING answered by {where}", url=where)
    return memory
