"""`synthdata ops check-log-pipeline`: do the service's log lines still reach their stores?

Fluent Bit (its HTTP server: health, and the output plugins' error counters),
Elasticsearch (cluster health, and how old the newest document of the index is) and
the local log file (`SYNTHDATA_LOG_FILE`, how long ago it was written).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from synthdata.ops.diagnose import (
    LOG_FRESHNESS,
    age_text,
    fetch,
    http_client,
    json_of,
    not_configured,
    safe_url,
)
from synthdata.ops.report import Report, Status
from synthdata.ops.timeparse import parse_timestamp
from synthdata.service.core.settings import Settings

# The time of a document as Fluent Bit's es output writes it (`Time_Key` in fluent-bit.conf).
TIME_FIELD = "@timestamp"
_CLUSTER_STATUS: dict[str, Status] = {"green": "ok", "yellow": "warn", "red": "fail"}


def log_pipeline(settings: Settings) -> Report:
    """The check-log-pipeline report."""
    report = Report("check-log-pipeline")
    with http_client() as client:
        check_log_pipeline(report, client, settings)
    return report


def check_log_pipeline(
    report: Report, client: httpx.Client, settings: Settings, *, prefix: str = ""
) -> None:
    """Add the pipeline's findings to `report` (health-check --comprehensive reuses this)."""
    check_fluent_bit(report, client, settings.fluent_bit_url, prefix)
    check_elasticsearch(report, client, settings, prefix)
    check_log_file(report, settings.log_file, prefix)


def check_fluent_bit(report: Report, client: httpx.Client, url: str, prefix: str = "") -> None:
    """/api/v1/health, then /api/v1/metrics: any output error or failed retry is a warning."""
    name = f"{prefix}fluent-bit"
    if not url:
        not_configured(report, name, "fluent_bit_url")
        return
    url = url.rstrip("/")
    health = fetch(report, name, client, "GET", f"{url}/api/v1/health")
    if health is None:
        return
    if health.status_code != 200:
        detail = f"{url}/api/v1/health answered {health.status_code} {health.text.strip()[:80]}"
        report.add(name, "fail", detail)
        return
    report.add(name, "ok", f"{url}/api/v1/health answered {health.text.strip()[:20]}")
    answer = fetch(report, f"{name} outputs", client, "GET", f"{url}/api/v1/metrics")
    if answer is None:
        return
    body = json_of(answer)
    outputs = body.get("output") if isinstance(body, dict) else None
    if answer.status_code != 200 or not isinstance(outputs, dict):
        report.add(f"{name} outputs", "fail", f"{url}/api/v1/metrics: no output metrics")
        return
    if not outputs:
        report.add(f"{name} outputs", "warn", "no output plugin: logs go nowhere")
    for plugin, counters in sorted(outputs.items()):
        _fluent_bit_output(report, f"{name} output {plugin}", counters)


def _fluent_bit_output(report: Report, name: str, counters: dict[str, Any]) -> None:
    errors = int(counters.get("errors", 0))
    failed = int(counters.get("retries_failed", 0))
    sent = int(counters.get("proc_records", 0))
    data = {"errors": errors, "retries_failed": failed, "proc_records": sent}
    if errors or failed:
        detail = f"{errors} error(s), {failed} failed retr(ies) since Fluent Bit started"
        report.add(name, "warn", f"{detail}; {sent} records sent", **data)
    else:
        report.add(name, "ok", f"{sent} records sent, no errors", **data)


def check_elasticsearch(
    report: Report, client: httpx.Client, settings: Settings, prefix: str = ""
) -> None:
    """Cluster health (yellow warns, red fails), then the age of the newest document."""
    name = f"{prefix}elasticsearch"
    if not settings.elasticsearch_url:
        not_configured(report, name, "elasticsearch_url")
        return
    url = settings.elasticsearch_url.rstrip("/")
    shown = safe_url(url)
    health = fetch(report, name, client, "GET", f"{url}/_cluster/health")
    if health is None:
        return
    body = json_of(health)
    color = body.get("status") if isinstance(body, dict) else None
    if health.status_code != 200 or color not in _CLUSTER_STATUS:
        report.add(name, "fail", f"{shown}/_cluster/health answered {health.status_code}")
        return
    report.add(name, _CLUSTER_STATUS[color], f"{shown}: cluster health {color}", color=color)
    _newest_document(report, client, url, settings.elasticsearch_index, prefix)


def _newest_document(
    report: Report, client: httpx.Client, url: str, index: str, prefix: str
) -> None:
    name = f"{prefix}elasticsearch index {index}"
    query = {"size": 1, "sort": [{TIME_FIELD: {"order": "desc"}}], "_source": [TIME_FIELD]}
    answer = fetch(report, name, client, "POST", f"{url}/{index}/_search", json=query)
    if answer is None:
        return
    body = json_of(answer)
    if answer.status_code == 404:
        report.add(name, "fail", f"index {index} does not exist: nothing was ever shipped")
        return
    if answer.status_code != 200 or not isinstance(body, dict):
        report.add(name, "fail", f"_search answered {answer.status_code}: {answer.text[:120]}")
        return
    hits = body.get("hits", {}).get("hits", [])
    newest = _hit_time(hits[0]) if hits else None
    if newest is None:
        report.add(name, "warn", f"no document with {TIME_FIELD} in {index}")
        return
    age = datetime.now(UTC) - newest
    _freshness(report, name, f"newest document {age_text(age)} old", age, newest=newest)


def _hit_time(hit: dict[str, Any]) -> datetime | None:
    value = hit.get("_source", {}).get(TIME_FIELD)
    if isinstance(value, str):
        return parse_time(value)
    sort = hit.get("sort") or []
    if sort and isinstance(sort[0], int | float):  # a date sorts by epoch milliseconds
        return datetime.fromtimestamp(sort[0] / 1000, UTC)
    return None


def parse_time(value: Any) -> datetime | None:
    """An ISO 8601 time (with `Z` or an offset; naive means UTC), or None."""
    if not isinstance(value, str):
        return None
    try:
        return parse_timestamp(value)
    except ValueError:
        return None


def check_log_file(report: Report, path: Path | None, prefix: str = "") -> None:
    """The local log file exists and was written within the freshness window."""
    name = f"{prefix}log file"
    if path is None:
        report.add(name, "info", "not configured (SYNTHDATA_LOG_FILE is not set)")
        return
    try:
        written = datetime.fromtimestamp(path.stat().st_mtime, UTC)
    except FileNotFoundError:
        report.add(name, "fail", f"{path} does not exist: the service writes no log there")
        return
    except OSError as exc:
        report.add(name, "fail", f"{path}: {exc}")
        return
    age = datetime.now(UTC) - written
    _freshness(report, name, f"{path} last written {age_text(age)} ago", age, newest=written)


def _freshness(report: Report, name: str, detail: str, age: timedelta, **data: Any) -> None:
    if age > LOG_FRESHNESS:
        report.add(name, "warn", f"{detail}: older than {age_text(LOG_FRESHNESS)}", **data)
    else:
        report.add(name, "ok", detail, **data)
