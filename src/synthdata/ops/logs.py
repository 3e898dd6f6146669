"""`synthdata ops check-error-logs --last 1h --level ERROR`: which errors, where, how often.

With `SYNTHDATA_ELASTICSEARCH_URL` the runbook's saved query
(`monitoring/fluent-bit/queries/errors-last-hour.json`) is sent with its window and
level filter set from the options; otherwise, or when Elasticsearch cannot be
searched, the JSON lines of `SYNTHDATA_LOG_FILE` are read (`log_sources`). Lines are
grouped by what went wrong (the exception's type and message when the line carries
one, else the message) and endpoint, each group with its count, first and last time
seen, a sample request id, the customers it hit and a sample traceback.
`--slow` is the runbook's other query, slow requests (`slow_requests`).
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from synthdata.ops.diagnose import reason
from synthdata.ops.log_sources import (
    LEVELS,
    MAX_HITS,
    LogLine,
    LogQuery,
    normalize_level,
    read_lines,
)
from synthdata.ops.report import Report, Status
from synthdata.ops.timeparse import duration_text
from synthdata.service.core.db import utcnow
from synthdata.service.core.settings import Settings

__all__ = [
    "error_logs",
    "error_query",
    "levels_from",
    "normalize_level",
    "saved_error_query",
    "saved_query",
]

SAVED_QUERY = Path("fluent-bit") / "queries" / "errors-last-hour.json"
STACK_TRACE_CHARS = 4000  # of the sample traceback kept in --json


def levels_from(level: str) -> list[str]:
    """The level and every level above it."""
    return list(LEVELS[LEVELS.index(normalize_level(level)) :])


@dataclass
class ErrorGroup:
    """Lines with the same error (or message) at the same endpoint."""

    message: str
    endpoint: str
    level: str
    count: int = 0
    first: datetime | None = None
    last: datetime | None = None
    request_id: str | None = None
    statuses: set[int] = field(default_factory=set)
    customers: set[str] = field(default_factory=set)
    error: str | None = None
    stack_trace: str | None = None

    def add(self, line: LogLine) -> None:
        self.count += 1
        if LEVELS.index(line.level) > LEVELS.index(self.level):
            self.level = line.level
        self.first = min(self.first or line.at, line.at)
        if self.last is None or line.at >= self.last:
            self.last = line.at
            self.request_id = line.request_id or self.request_id
            self.stack_trace = line.stack_trace or self.stack_trace
        elif self.request_id is None:
            self.request_id = line.request_id
        if line.status is not None:
            self.statuses.add(line.status)
        if line.customer:
            self.customers.add(line.customer)
        self.error = self.error or line.error
        self.stack_trace = self.stack_trace or line.stack_trace


def error_logs(settings: Settings, *, window: timedelta, level: str, limit: int) -> Report:
    """The check-error-logs report; `level` and `window` must be valid (see the parsers)."""
    levels = levels_from(level)
    report = Report(f"check-error-logs --last {duration_text(window)} --level {levels[0]}")
    try:
        query = error_query(saved_query(SAVED_QUERY), window, levels)
    except (OSError, ValueError, KeyError) as exc:
        report.add("saved query", "fail", f"cannot load {SAVED_QUERY}: {reason(exc)}")
        return report
    wanted = set(levels)
    found = read_lines(
        report,
        settings,
        LogQuery(
            elasticsearch=query,
            record_key=level_field(query).rpartition(".")[0],
            wanted=lambda line: line.level in wanted,
            might_match=lambda raw: any(name in raw for name in wanted),
        ),
        since=utcnow() - window,
    )
    if found is not None:
        lines, source = found
        _summarize(report, lines, source=source, window=window, levels=levels, limit=limit)
    return report


# -- Elasticsearch --------------------------------------------------------------------------
def saved_query(name: Path) -> dict[str, Any]:
    """One of the runbook's saved log queries, as shipped in monitoring/."""
    from synthdata.ops.monitoring_stack import find_monitoring_dir

    saved: dict[str, Any] = json.loads((find_monitoring_dir() / name).read_text())
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


def saved_error_query() -> dict[str, Any]:
    """The runbook's "errors in the last hour" query, as shipped in monitoring/."""
    return saved_query(SAVED_QUERY)


def level_field(query: dict[str, Any]) -> str:
    """The field a query's `terms` level clause reads (e.g. `app.level`)."""
    for clause in query["query"]["bool"]["must"]:
        if "terms" in clause:
            return str(next(iter(clause["terms"])))
    raise ValueError("no level clause")


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
        # What went wrong, not the line's generic text ("request", "Exception in ASGI
        # application"): the exception, when the line carries one.
        what = line.error or line.message
        key = (what, line.endpoint)
        groups.setdefault(key, ErrorGroup(what, line.endpoint, line.level)).add(line)
    ranked = sorted(groups.values(), key=lambda g: (-g.count, g.message, g.endpoint))
    report.add("logs", "info", f"{len(lines)} line(s) {span}, {len(groups)} group(s)")
    for group in ranked[:limit]:
        statuses = ", ".join(str(s) for s in sorted(group.statuses))
        detail = (
            f"{group.count}x {group.level}"
            + (f" (HTTP {statuses})" if statuses else "")
            + f", first {_clock(group.first)}, last {_clock(group.last)}"
            + f", request_id {group.request_id or '-'}"
            + f", customer {', '.join(sorted(group.customers)) or '-'}"
            + (f": {group.error}" if group.error else "")
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
            customers=sorted(group.customers),
            error=group.error,
            stack_trace=(group.stack_trace or "")[-STACK_TRACE_CHARS:] or None,
        )
    if len(ranked) > limit:
        report.add("more groups", "info", f"{len(ranked) - limit} more group(s) (raise --limit)")


def _clock(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%SZ") if moment else "-"
