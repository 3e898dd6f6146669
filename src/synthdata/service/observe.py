"""Wiring the metric contract to this service: scrape-time sources and known labels.

`install` is the app-factory hook that turns observability on for a process:
HTTP metrics and the access log, `/metrics`, and the gauges that are read from
their source of truth when Prometheus scrapes (queue length from the queue, jobs
queued, work in flight and active users from the database, certificate expiry from files and
endpoints, open incidents and privileged operations from the database).
"""

from __future__ import annotations

from fastapi import Depends, FastAPI
from sqlalchemy import select

from synthdata.engine.base import list_synthesizers
from synthdata.jobs.leases import live_leases, queued_jobs
from synthdata.observability import metrics
from synthdata.observability.certificates import CertificateWatch
from synthdata.observability.http import install_observability
from synthdata.service.admin.privileged import PRIVILEGED_OPERATIONS, privileged_counts
from synthdata.service.core.db import session_scope
from synthdata.service.core.platform import Platform
from synthdata.service.customers.models import Customer
from synthdata.service.incidents.service import open_counts
from synthdata.service.metrics_access import require_scrape_access


def bind_platform(platform: Platform) -> None:
    """Point the scrape-time gauges at this process's queue, database and settings."""
    settings = platform.settings
    metrics.scrape_time.queue_length = platform.queue.pending
    metrics.scrape_time.work_in_flight = lambda: _work_in_flight(platform)
    metrics.scrape_time.jobs_queued = lambda: _jobs_queued(platform)
    metrics.scrape_time.active_users = platform.activity.active_keys
    metrics.scrape_time.cert_expiry_seconds = CertificateWatch(
        settings.cert_file_paths, settings.tls_endpoint_list
    )
    metrics.scrape_time.incidents_open = lambda: _open_incidents(platform)
    metrics.scrape_time.privileged_operations = lambda: _privileged(platform)
    currencies = set(settings.currency_list)
    try:
        with session_scope(platform.sessions) as session:
            currencies.update(session.scalars(select(Customer.currency).distinct()))
    except Exception:  # the database may not be reachable yet; /readyz will say so
        pass
    metrics.preinitialise(list_synthesizers(), sorted(currencies), PRIVILEGED_OPERATIONS)


def _work_in_flight(platform: Platform) -> float:
    with session_scope(platform.read_sessions) as session:
        return float(live_leases(session))


def _jobs_queued(platform: Platform) -> float:
    with session_scope(platform.read_sessions) as session:
        return float(queued_jobs(session))


def _open_incidents(platform: Platform) -> dict[str, float]:
    with session_scope(platform.read_sessions) as session:
        return open_counts(session)


def _privileged(platform: Platform) -> dict[str, float]:
    with session_scope(platform.read_sessions) as session:
        return privileged_counts(session)


def install(app: FastAPI) -> None:
    """App-factory hook: metrics, access log and `/metrics` for this app's platform."""
    platform: Platform = app.state.platform
    settings = platform.settings
    install_observability(
        app,
        settings.access_log_quiet_route_set,
        max_customers=settings.metrics_max_customers,
        cache_seconds=settings.metrics_cache_seconds,
        dependencies=[Depends(require_scrape_access)],  # token, or this machine only
    )
    bind_platform(platform)
