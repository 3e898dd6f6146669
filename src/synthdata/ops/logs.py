"""`synthdata ops check-error-logs --last 1h --level ERROR`: which errors, where, how often.

With `SYNTHDATA_ELASTICSEARCH_URL` the runbook's saved query
(`monitoring/fluent-bit/queries/errors-last-hour.json`) is sent with its window and
level filter set from the options; otherwise the JSON lines of `SYNTHDATA_LOG_FILE`
are read. Lines are grouped by message and endpoint, each group with its count, first
and last time seen and a sample request id.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from synthdata.ops.diagnose import (
    fetch,
    http_client,
    json_of,
    reason,
    safe_url,
)
from synthdata.ops.pipeline import parse_time
from synthdata.ops.report import Report, Status
from synthdata.ops.timeparse import duration_text
from synthdata.service.core.db import utcnow
from synthdata.service.core.settings import Settings

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_ALIASES = {"WARN": "WARNING", "FATAL": "CRITICAL", "EXCEPTION": "ERROR"}
SAVED_QUERY = Path("fluent-bit") / "queries" / "errors-last-hour.json"
# Hits fetched from Elasticsearch to group (newest first); the total is reported apart.
MAX_HITS = 1000


def normalize_level(level: str) -> str:
    """`error` -> `ERROR`, `warn` -> `WARNING`; ValueError for a level that does not exist."""
    upper = _ALIASES.get(level.strip().upper(), level.strip().upper())
    if upper not in LEVELS:
        raise ValueError(f"unknown level {level!r} (one of {', '.join(LEVELS)})")
    return upper


def levels_from(level: str) -> list[str]:
    """The level and every level above it."""
    return list(LEVELS[LEVELS.index(normalize_level(level)) :])


@dataclass
class LogLine:
    """The fields of one log line the grouping needs."""

    at: datetime
    level: str
    message: str
    endpoint: str
    request_id: str | None
    status: int | None


@dataclass
class ErrorGroup:
    """Lines with the same message at the same endpoint."""

    message: str
    endpoint: str
    level: str
    count: int = 0
    first: datetime | None = None
    last: datetime | None = None
    request_id: str | None = None
    statuses: set[int] = field(default_factory=set)

    def add(self, line: LogLine) -> None:
        self.count += 1
        if LEVELS.index(line.level) > LEVELS.index(self.level):
            self.level = line.level
        self.first = min(self.first or line.at, line.at)
        if self.last is None or line.at >= self.last:
            self.last = line.at
            self.request_id = line.request_id or self.request_id
        elif self.request_id is None:
            self.request_id = line.request_id
        if line.status is not None:
            self.statuses.add(line.status)


def error_logs(settings: Settings, *, window: timedelta, level: str, limit: int) -> Report:
    """The check-error-logs report; `level` and `window` must be valid (see the parsers)."""
    levels = levels_from(level)
    report = Report(f"check-error-logs --last {duration_text(window)} --level {levels[0]}")
    since = utcnow() - window
    if settings.elasticsearch_url:
        source = f"Elasticsearch {safe_url(settings.elasticsearch_url)}"
        source += f" index {settings.elasticsearch_index}"
        lines = _from_elasticsearch(report, settings, window, levels)
    elif settings.log_file is not None:
        source = f"log file {settings.log_file}"
        lines = _from_file(report, settings.log_file, since, levels)
    else:
        report.add(
            "logs",
            "info",
            "no log source configured: set SYNTHDATA_ELASTICSEARCH_URL or SYNTHDATA_LOG_FILE",
        )
        return report
    if lines is not None:
        _summarize(report, lines, source=source, window=window, levels=levels, limit=limit)
    return report


# -- Elasticsearch --------------------------------------------------------------------------
def saved_error_query() -> dict[str, Any]:
    """The runbook's "errors in the last hour" query, as shipped in monitoring/."""
    from synthdata.ops.monitoring_stack import find_monitoring_dir

    saved: dict[str, Any] = json.loads((find_monitoring_dir() / SAVED_QUERY).read_text())
    return saved


def error_query(saved: dict[str, Any], window: timedelta, levels: list[str]) -> dict[str, Any]:
    """The saved query with its time range set to `window` and its level term widened
    to `levels` (one `terms` clause on the same field)."""
    query = copy.deepcopy(saved)
    must = query["query"]["bool"]["must"]
    widened = ranged = False
    for index, clause in enumerate(must):
        if "range" in clause:
            ((_, bounds),) = clause["range"].items()
            bounds["gte"] = f"now-{duration_text(window)}"
            ranged = True
        elif "term" in clause:
            ((level_field, _),) = clause["term"].items()
            must[index] = {"terms": {level_field: levels}}
            widened = True
    if not (ranged and widened):
        raise ValueError(f"{SAVED_QUERY} no longer has a time range and a level term")
    query["size"] = MAX_HITS
    query["track_total_hits"] = True
    return query


def level_field(query: dict[str, Any]) -> str:
    """The field a query's `terms` level clause reads (e.g. `app.level`)."""
    for clause in query["query"]["bool"]["must"]:
        if "terms" in clause:
            return str(next(iter(clause["terms"])))
    raise ValueError("no level clause")


def _from_elasticsearch(
    report: Report, settings: Settings, window: timedelta, levels: list[str]
) -> list[LogLine] | None:
    try:
        query = error_query(saved_error_query(), window, levels)
    except (OSError, ValueError, KeyError) as exc:
        report.add("saved query", "fail", f"cannot load {SAVED_QUERY}: {reason(exc)}")
        return None
    url = f"{settings.elasticsearch_url.rstrip('/')}/{settings.elasticsearch_index}/_search"
    with http_client() as client:
        answer = fetch(report, "elasticsearch", client, "POST", url, json=query)
    if answer is None:
        return None
    body = json_of(answer)
    if answer.status_code != 200 or not isinstance(body, dict):
        error = body.get("error") if isinstance(body, dict) else None
        why = error.get("reason") if isinstance(error, dict) else answer.text[:200]
        report.add("elasticsearch", "fail", f"_search answered {answer.status_code}: {why}")
        return None
    # Fluent Bit merges the service's line under one key (`app`); `app.level` names it.
    record_key = level_field(query).rpartition(".")[0]
    lines = []
    for hit in body.get("hits", {}).get("hits", []):
        source = hit.get("_source", {})
        record = source.get(record_key, {}) if record_key else source
        line = _line(record, fallback_time=source.get("@timestamp"))
        if line is not None:
            lines.append(line)
    total = body.get("hits", {}).get("total", {})
    matched = total.get("value", len(lines)) if isinstance(total, dict) else len(lines)
    if matched > len(lines):
        report.add("elasticsearch", "info", f"grouped the newest {len(lines)} of {matched} hits")
    return lines


# -- log file --------------------------------------------------------------------------------
def _from_file(
    report: Report, path: Path, since: datetime, levels: list[str]
) -> list[LogLine] | None:
    wanted = set(levels)
    lines = []
    try:
        with path.open(encoding="utf-8", errors="replace") as handle:
            for raw in handle:
                # Cheap test first: most lines of a big file are INFO.
                if not raw.startswith("{") or not any(level in raw for level in wanted):
                    continue
                try:
                    record = json.loads(raw)
                except ValueError:
                    continue
                line = _line(record) if isinstance(record, dict) else None
                if line is not None and line.level in wanted and line.at >= since:
                    lines.append(line)
    except OSError as exc:
        report.add("log file", "unreachable", f"cannot read {path} ({reason(exc)})")
        return None
    return lines


# -- both -----------------------------------------------------------------------------------
def _field(record: dict[str, Any], name: str) -> Any:
    """A field as the service writes it (`url.path`) or as indexed (`url_path`)."""
    return record.get(name, record.get(name.replace(".", "_")))


def _line(record: dict[str, Any], fallback_time: Any = None) -> LogLine | None:
    at = parse_time(_field(record, "@timestamp") or fallback_time)
    raw_level = str(_field(record, "level") or _field(record, "log.level") or "")
    try:
        level = normalize_level(raw_level)
    except ValueError:
        return None
    if at is None:
        return None
    message = str(_field(record, "message") or _field(record, "event") or "").strip()
    endpoint = _field(record, "http.route") or _field(record, "url.path") or ""
    method = _field(record, "http.request.method")
    status = _field(record, "http.response.status_code")
    return LogLine(
        at=at,
        level=level,
        message=message.splitlines()[0] if message else "(no message)",
        endpoint=f"{method} {endpoint}" if method and endpoint else str(endpoint or "-"),
        request_id=_field(record, "request_id") or None,
        status=int(status) if isinstance(status, int | float) else None,
    )


def _summarize(
    report: Report,
    lines: list[LogLine],
    *,
    source: str,
    window: timedelta,
    levels: list[str],
    limit: int,
) -> None:
    span = f"at {levels[0]} or above in the last {duration_text(window)} ({source})"
    if not lines:
        report.add("logs", "ok", f"no line {span}")
        return
    groups: dict[tuple[str, str], ErrorGroup] = {}
    for line in lines:
        key = (line.message, line.endpoint)
        groups.setdefault(key, ErrorGroup(line.message, line.endpoint, line.level)).add(line)
    ranked = sorted(groups.values(), key=lambda g: (-g.count, g.message, g.endpoint))
    report.add("logs", "info", f"{len(lines)} line(s) {span}, {len(groups)} group(s)")
    for group in ranked[:limit]:
        statuses = ", ".join(str(s) for s in sorted(group.statuses))
        detail = (
            f"{group.count}x {group.level}"
            + (f" (HTTP {statuses})" if statuses else "")
            + f", first {_clock(group.first)}, last {_clock(group.last)}"
            + f", request_id {group.request_id or '-'}"
        )
        status: Status = "fail" if LEVELS.index(group.level) >= LEVELS.index("ERROR") else "warn"
        report.add(
            f"{group.message[:60]} @ {group.endpoint}",
            status,
            detail,
            message=group.message,
            endpoint=group.endpoint,
            level=group.level,
            count=group.count,
            first_seen=group.first,
            last_seen=group.last,
            request_id=group.request_id,
            statuses=sorted(group.statuses),
        )
    if len(ranked) > limit:
        report.add("more groups", "info", f"{len(ranked) - limit} more group(s) (raise --limit)")


def _clock(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%SZ") if moment else "-"
