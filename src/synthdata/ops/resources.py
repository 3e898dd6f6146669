"""`synthdata ops check-resources [--detailed]`: CPU, memory, disk, database, Redis, queue.

Host figures come from psutil and are held against the thresholds of the resource
alerts (monitoring/prometheus/rules/resources.yml). `--detailed` adds the busiest
processes (synthdata's first) and, from Prometheus, the figures the alerts themselves
read (container CPU and memory against their limits, node CPU, memory and disk).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil
from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

from synthdata.ops.diagnose import (
    CPU_THRESHOLD,
    DISK_THRESHOLD,
    MEMORY_THRESHOLD,
    check_queue,
    check_redis,
    connected_database,
    fetch,
    http_client,
    json_of,
    not_configured,
    reason,
    size_text,
    sqlite_file,
)
from synthdata.ops.disk import filesystem_usage
from synthdata.ops.report import Report, Status
from synthdata.service.core.settings import Settings

CPU_SAMPLE_SECONDS = 1.0
TOP_PROCESSES = 5


@dataclass(frozen=True)
class Figure:
    """A ratio Prometheus computes, the threshold it is held against, and its labels."""

    name: str
    expr: str
    threshold: float
    labels: tuple[str, ...]
    alert: str = ""  # the alert whose expression is `expr > threshold`, if any


# The first three are the alerts' expressions without their comparison (tests/ops checks
# that `expr > threshold` is still exactly the rule), so this shows what the alert sees.
PROMETHEUS_FIGURES = (
    Figure(
        "container cpu / limit",
        """sum by (namespace, pod, container) (
  rate(container_cpu_usage_seconds_total{container=~"synthdata-api|synthdata-worker"}[5m])
)
/
sum by (namespace, pod, container) (
  kube_pod_container_resource_limits{resource="cpu", container=~"synthdata-api|synthdata-worker"}
)""",
        CPU_THRESHOLD,
        ("namespace", "pod", "container"),
        "HighCPUUtilization",
    ),
    Figure(
        "container memory / limit",
        """sum by (namespace, pod, container) (
  container_memory_working_set_bytes{container=~"synthdata-api|synthdata-worker"}
)
/
sum by (namespace, pod, container) (
  container_spec_memory_limit_bytes{container=~"synthdata-api|synthdata-worker"} > 0
)""",
        MEMORY_THRESHOLD,
        ("namespace", "pod", "container"),
        "HighMemoryUtilization",
    ),
    Figure(
        "node disk",
        """1 - (
  node_filesystem_avail_bytes{fstype!~"tmpfs|ramfs|overlay|squashfs|nsfs|devtmpfs"}
  /
  node_filesystem_size_bytes{fstype!~"tmpfs|ramfs|overlay|squashfs|nsfs|devtmpfs"}
)""",
        DISK_THRESHOLD,
        ("instance", "mountpoint"),
        "HighDiskUsage",
    ),
    Figure(
        "node cpu",
        '1 - avg by (instance) (rate(node_cpu_seconds_total{mode="idle"}[5m]))',
        CPU_THRESHOLD,
        ("instance",),
    ),
    Figure(
        "node memory",
        "1 - node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes",
        MEMORY_THRESHOLD,
        ("instance",),
    ),
)


def check_resources(settings: Settings, *, detailed: bool) -> Report:
    """The check-resources report."""
    report = Report("check-resources" + (" --detailed" if detailed else ""))
    # One sampling interval serves the host CPU figure and every process's CPU share.
    psutil.cpu_percent(None)
    processes = _prime_processes() if detailed else []
    time.sleep(CPU_SAMPLE_SECONDS)
    _ratio(report, "host cpu", psutil.cpu_percent(None) / 100, CPU_THRESHOLD)
    memory = psutil.virtual_memory()
    _ratio(report, "host memory", memory.percent / 100, MEMORY_THRESHOLD, total=memory.total)
    _disk(report, settings.data_dir)
    with connected_database(report, settings) as engine:
        if engine is not None:
            _database_size(report, engine, settings)
        _redis_memory(report, settings)
        check_queue(report, settings, engine)
    if detailed:
        _top_processes(report, processes)
        _prometheus_figures(report, settings.prometheus_url)
    return report


def _ratio(report: Report, name: str, used: float, threshold: float, **data: object) -> None:
    status: Status = "warn" if used > threshold else "ok"
    detail = f"{used:.0%} used (alert above {threshold:.0%})"
    report.add(name, status, detail, used_ratio=round(used, 4), threshold=threshold, **data)


def _disk(report: Report, data_dir: Path) -> None:
    """The data directory's file system, by HighDiskUsage's own formula (`ops.disk`)."""
    try:
        usage = filesystem_usage(data_dir)
    except OSError as exc:
        report.add("disk (data_dir)", "fail", f"{data_dir}: {reason(exc)}")
        return
    _ratio(
        report,
        "disk (data_dir)",
        usage.used_ratio,
        DISK_THRESHOLD,
        free=usage.avail_bytes,
        mountpoint=usage.mountpoint,
    )
    report.findings[-1].detail += (
        f", {size_text(usage.avail_bytes)} available on {usage.mountpoint} "
        f"(holding {usage.path}; 1 - avail/size, as HighDiskUsage)"
    )


def _database_size(report: Report, engine: Engine, settings: Settings) -> None:
    path = sqlite_file(settings)
    try:
        if path is not None:
            # The write-ahead log holds committed pages not yet copied into the file.
            siblings = [
                path,
                path.with_name(path.name + "-wal"),
                path.with_name(path.name + "-shm"),
            ]
            size = sum(p.stat().st_size for p in siblings if p.exists())
        else:
            with engine.connect() as connection:
                size = int(
                    connection.execute(
                        text("SELECT pg_database_size(current_database())")
                    ).scalar_one()
                )
    except (OSError, SQLAlchemyError) as exc:
        report.add("database size", "fail", reason(exc))
        return
    report.add("database size", "info", f"{size_text(size)} ({engine.dialect.name})", bytes=size)


def _redis_memory(report: Report, settings: Settings) -> None:
    memory = check_redis(report, settings)
    if memory is None:
        return
    used = int(memory.get("used_memory", 0))
    limit = int(memory.get("maxmemory", 0))
    if not limit:
        report.add("redis memory", "info", f"{size_text(used)} used, no maxmemory", bytes=used)
        return
    _ratio(report, "redis memory", used / limit, MEMORY_THRESHOLD, bytes=used, maxmemory=limit)


# -- processes ------------------------------------------------------------------------------
def _prime_processes() -> list[psutil.Process]:
    """Every process, with its CPU counter started (read again after the sample interval)."""
    primed = []
    for process in psutil.process_iter(["pid", "name", "cmdline"]):
        try:
            process.cpu_percent(None)
            primed.append(process)
        except psutil.Error:
            continue
    return primed


@dataclass(frozen=True)
class ProcessUse:
    pid: int
    command: str
    cpu_percent: float
    rss: int

    @property
    def synthdata(self) -> bool:
        return "synthdata" in self.command


def _top_processes(report: Report, primed: list[psutil.Process]) -> None:
    uses = []
    for process in primed:
        if process.pid == os.getpid():  # this command itself is not what is being diagnosed
            continue
        try:
            cpu = process.cpu_percent(None)
            rss = process.memory_info().rss
        except psutil.Error:
            continue  # ended or hidden since the first reading
        command = " ".join(process.info.get("cmdline") or []) or str(process.info.get("name"))
        uses.append(ProcessUse(process.pid, command, cpu, rss))
    ours = sorted((u for u in uses if u.synthdata), key=lambda u: (-u.cpu_percent, -u.rss))
    for use in ours[: TOP_PROCESSES * 2]:
        _process(report, "synthdata process", use)
    if not ours:
        report.add("synthdata process", "info", "no synthdata process on this host")
    for use in sorted(uses, key=lambda u: -u.cpu_percent)[:TOP_PROCESSES]:
        _process(report, "top cpu", use)
    for use in sorted(uses, key=lambda u: -u.rss)[:TOP_PROCESSES]:
        _process(report, "top memory", use)


def _process(report: Report, kind: str, use: ProcessUse) -> None:
    detail = f"cpu {use.cpu_percent:.0f} %, rss {size_text(use.rss)}: {use.command[:120]}"
    report.add(
        f"{kind} {use.pid}", "info", detail, pid=use.pid, cpu_percent=use.cpu_percent, rss=use.rss
    )


# -- Prometheus ------------------------------------------------------------------------------
def _prometheus_figures(report: Report, url: str) -> None:
    if not url:
        not_configured(report, "prometheus", "prometheus_url")
        return
    url = url.rstrip("/")
    with http_client() as client:
        for figure in PROMETHEUS_FIGURES:
            if not _query(report, client, url, figure):
                return  # unreachable: one finding says so, not five


def _query(report: Report, client: httpx.Client, url: str, figure: Figure) -> bool:
    name = f"prometheus {figure.name}"
    params = {"query": figure.expr}
    answer = fetch(report, "prometheus", client, "GET", f"{url}/api/v1/query", params=params)
    if answer is None:
        return False
    body = json_of(answer)
    if answer.status_code != 200 or not isinstance(body, dict) or body.get("status") != "success":
        error = body.get("error") if isinstance(body, dict) else answer.text[:200]
        report.add(name, "fail", f"query failed ({answer.status_code}): {error}")
        return True
    series = body["data"]["result"]
    if not series:
        report.add(name, "info", "no data (nothing scraped exports it)")
    for sample in series:
        labels = sample.get("metric", {})
        where = " ".join(f"{k}={labels[k]}" for k in figure.labels if k in labels)
        value = float(sample["value"][1])
        _ratio(report, f"{name} {where}".strip(), value, figure.threshold, labels=labels)
    return True
