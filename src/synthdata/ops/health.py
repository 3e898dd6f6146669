"""`synthdata ops health-check [--comprehensive]`: is every part of the platform up?

The service (its /healthz and /readyz), database, queue, Redis, storage, the artifact
store (health_store.py: a probe object written, read and deleted) and the workers
(health_workers.py); with `--comprehensive` also the monitoring stack
(Prometheus and its scrape targets, Alertmanager, Grafana), the log pipeline, and what
the service is going through (health_signals.py): the alerts that fire, the API's 5xx
ratio and p95 latency. Every finding carries the time its check took (`took_ms`, the
table's "took" column).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from sqlalchemy import Engine

from synthdata.ops.diagnose import (
    DISK_THRESHOLD,
    check_queue,
    check_redis,
    connected_database,
    fetch,
    http_client,
    json_of,
    not_configured,
    reason,
    size_text,
)
from synthdata.ops.disk import filesystem_usage
from synthdata.ops.health_signals import check_firing_alerts, check_traffic
from synthdata.ops.health_store import check_object_store
from synthdata.ops.health_workers import check_workers
from synthdata.ops.pipeline import check_log_pipeline
from synthdata.ops.report import TOOK_MS, Finding, Report, Status
from synthdata.service.core.settings import Settings


def health_check(settings: Settings, *, url: str, comprehensive: bool) -> Report:
    """Check every part; each gets a finding (ok, or what is wrong and where), with the
    time its check took (a probe that takes seconds is a finding in itself)."""
    report = Report("health-check" + (" --comprehensive" if comprehensive else ""))
    with http_client() as client:
        timed(report, check_service, client, url.rstrip("/"))
        with timed_database(report, settings) as engine:
            timed(report, check_queue, settings, engine)
            timed(report, check_redis, settings)
            timed(report, check_storage, settings)
            timed(report, check_object_store, settings)
            if engine is not None:
                timed(report, check_workers, engine)
        if comprehensive:
            timed(report, check_prometheus, client, settings.prometheus_url)
            timed(report, check_alertmanager, client, settings.alertmanager_url)
            timed(report, check_grafana, client, settings.grafana_url)
            timed(report, check_log_pipeline, client, settings, prefix="log pipeline: ")
            # Up is not healthy: what the pager sees (alerts) and what users get.
            timed(
                report,
                check_firing_alerts,
                client,
                settings.prometheus_url,
                settings.alertmanager_url,
            )
            timed(report, check_traffic, client, settings.prometheus_url)
    return report


def timed(report: Report, check: Callable[..., object], *args: Any, **kwargs: Any) -> None:
    """Run one check; stamp the findings it added with how long it took."""
    first = len(report.findings)
    started = time.perf_counter()
    try:
        check(report, *args, **kwargs)
    finally:
        _stamp(report.findings[first:], time.perf_counter() - started)


@contextmanager
def timed_database(report: Report, settings: Settings) -> Iterator[Engine | None]:
    """`connected_database`, its finding stamped with the time the connection took."""
    first = len(report.findings)
    started = time.perf_counter()
    with connected_database(report, settings) as engine:
        _stamp(report.findings[first:], time.perf_counter() - started)
        yield engine


def _stamp(findings: list[Finding], seconds: float) -> None:
    for finding in findings:
        finding.data[TOOK_MS] = round(seconds * 1000, 1)


def check_service(report: Report, client: httpx.Client, url: str) -> None:
    """/healthz (the process answers) and /readyz (503 names the failing parts)."""
    live = fetch(report, "service", client, "GET", f"{url}/healthz")
    if live is None:
        return
    if live.status_code != 200:
        report.add("service", "fail", f"GET {url}/healthz answered {live.status_code}")
        return
    ready = fetch(report, "service", client, "GET", f"{url}/readyz")
    if ready is None:
        return
    body = json_of(ready) or {}
    checks = body.get("checks") if isinstance(body, dict) else None
    parts = ", ".join(f"{k} {v}" for k, v in (checks or {}).items())
    if ready.status_code == 200:
        report.add("service", "ok", f"{url}: live and ready ({parts})", checks=checks)
        return
    failing = {k: v for k, v in (checks or {}).items() if v != "ok"}
    named = "; ".join(f"{k}: {v}" for k, v in failing.items()) or f"HTTP {ready.status_code}"
    report.add("service", "fail", f"{url}/readyz not ready: {named}", checks=checks)


def check_storage(report: Report, settings: Settings) -> None:
    """The data directory exists, takes a write, and has room (HighDiskUsage threshold)."""
    from synthdata.artifacts import LocalStore, StoreError

    root = settings.data_dir
    if not root.is_dir():
        report.add("storage", "fail", f"data_dir {root} does not exist")
        return
    try:
        LocalStore(root).check()
        usage = filesystem_usage(root)  # HighDiskUsage's formula (ops/disk.py)
    except (OSError, StoreError) as exc:
        report.add("storage", "fail", f"data_dir {root} is not writable ({reason(exc)})")
        return
    used = usage.used_ratio
    detail = (
        f"{root} writable, {size_text(usage.avail_bytes)} available "
        f"({used:.0%} used on {usage.mountpoint})"
    )
    if used > DISK_THRESHOLD:
        detail += f", above the {DISK_THRESHOLD:.0%} disk alert"
    status: Status = "warn" if used > DISK_THRESHOLD else "ok"
    report.add("storage", status, detail, free_bytes=usage.avail_bytes, used_ratio=used)


def check_prometheus(report: Report, client: httpx.Client, url: str) -> None:
    """/-/healthy, then every scrape target: a target that is down is a warning."""
    if not url:
        not_configured(report, "prometheus", "prometheus_url")
        return
    url = url.rstrip("/")
    healthy = fetch(report, "prometheus", client, "GET", f"{url}/-/healthy")
    if healthy is None:
        return
    if healthy.status_code != 200:
        report.add("prometheus", "fail", f"{url}/-/healthy answered {healthy.status_code}")
        return
    report.add("prometheus", "ok", f"{url} healthy")
    answer = fetch(report, "prometheus targets", client, "GET", f"{url}/api/v1/targets")
    if answer is None:
        return
    body = json_of(answer)
    if answer.status_code != 200 or not isinstance(body, dict) or "data" not in body:
        report.add("prometheus targets", "fail", f"{url}/api/v1/targets: {answer.status_code}")
        return
    targets = body["data"].get("activeTargets", [])
    up = 0
    for target in targets:
        labels = target.get("labels", {})
        name = f"prometheus target {labels.get('job', '?')} {labels.get('instance', '?')}"
        health = target.get("health")
        if health == "up":
            up += 1
        elif health == "down":
            report.add(name, "warn", f"down: {target.get('lastError') or 'scrape failed'}")
        else:
            report.add(name, "info", "not scraped yet")
    status: Status = "ok" if targets else "warn"
    report.add("prometheus targets", status, f"{up} of {len(targets)} target(s) up")


def check_alertmanager(report: Report, client: httpx.Client, url: str) -> None:
    """Alertmanager's /-/healthy."""
    if not url:
        not_configured(report, "alertmanager", "alertmanager_url")
        return
    url = url.rstrip("/")
    healthy = fetch(report, "alertmanager", client, "GET", f"{url}/-/healthy")
    if healthy is None:
        return
    status: Status = "ok" if healthy.status_code == 200 else "fail"
    report.add("alertmanager", status, f"{url}/-/healthy answered {healthy.status_code}")


def check_grafana(report: Report, client: httpx.Client, url: str) -> None:
    """Grafana's /api/health: up, and its database "ok"."""
    if not url:
        not_configured(report, "grafana", "grafana_url")
        return
    url = url.rstrip("/")
    answer = fetch(report, "grafana", client, "GET", f"{url}/api/health")
    if answer is None:
        return
    body = json_of(answer)
    database = body.get("database") if isinstance(body, dict) else None
    version = body.get("version", "?") if isinstance(body, dict) else "?"
    if answer.status_code == 200 and database == "ok":
        report.add("grafana", "ok", f"{url} up (version {version}, database ok)")
    else:
        detail = f"{url}/api/health answered {answer.status_code}, database {database or '?'}"
        report.add("grafana", "fail", detail)
