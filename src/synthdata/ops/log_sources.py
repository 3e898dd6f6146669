"""Where `check-error-logs` reads log lines: Elasticsearch, or the service's log file.

With `SYNTHDATA_ELASTICSEARCH_URL` the runbook's saved query is sent; when
Elasticsearch cannot be reached or refuses the query and `SYNTHDATA_LOG_FILE` is
set, the JSON lines of that file are read instead, and the report says so (during
an incident the log pipeline is often part of the outage, and the file is still
there). Both give `LogLine`s with the fields the summaries need.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from synthdata.ops.diagnose import fetch, http_client, json_of, reason, safe_url
from synthdata.ops.pipeline import parse_time
from synthdata.ops.report import Report
from synthdata.service.core.settings import Settings

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_ALIASES = {"WARN": "WARNING", "FATAL": "CRITICAL", "EXCEPTION": "ERROR"}
# A traceback's exception line: a dotted name at the line's start, then ": " or nothing.
_RAISED = re.compile(r"^[A-Za-z_][\w.]*(: |$)")
# Hits fetched from Elasticsearch to summarize; the total is reported apart.
MAX_HITS = 1000


def normalize_level(level: str) -> str:
    """`error` -> `ERROR`, `warn` -> `WARNING`; ValueError for a level that does not exist."""
    upper = _ALIASES.get(level.strip().upper(), level.strip().upper())
    if upper not in LEVELS:
        raise ValueError(f"unknown level {level!r} (one of {', '.join(LEVELS)})")
    return upper


@dataclass
class LogLine:
    """The fields of one log line the summaries need."""

    at: datetime
    level: str
    message: str
    endpoint: str
    request_id: str | None
    status: int | None
    customer: str | None = None
    error: str | None = None  # "Type: message" of the exception the line carries
    stack_trace: str | None = None
    response_ms: float | None = None


@dataclass
class LogQuery:
    """What to ask each source: the Elasticsearch query, and the same test for a file line."""

    elasticsearch: dict[str, Any]
    record_key: str  # where Fluent Bit put the service's fields (`app`)
    wanted: Callable[[LogLine], bool]
    might_match: Callable[[str], bool]  # a cheap test of a raw file line


def read_lines(
    report: Report, settings: Settings, query: LogQuery, since: datetime
) -> tuple[list[LogLine], str] | None:
    """The matching lines and a description of where they came from; None (with a
    finding) when no source could be read."""
    file = settings.log_file
    if settings.elasticsearch_url:
        where = f"Elasticsearch {safe_url(settings.elasticsearch_url)}"
        where += f" index {settings.elasticsearch_index}"
        found = _from_elasticsearch(report, settings, query)
        if found is not None:
            return found, where
        if file is None:
            return None
        report.add(
            "log source",
            "info",
            f"Elasticsearch could not be searched: read the log file {file} instead "
            "(SYNTHDATA_LOG_FILE; this machine's lines only)",
            fallback=str(file),
        )
    elif file is None:
        report.add(
            "logs",
            "info",
            "no log source configured: set SYNTHDATA_ELASTICSEARCH_URL or SYNTHDATA_LOG_FILE",
        )
        return None
    lines = _from_file(report, file, query, since)
    return None if lines is None else (lines, f"log file {file}")


def _from_elasticsearch(
    report: Report, settings: Settings, query: LogQuery
) -> list[LogLine] | None:
    url = f"{settings.elasticsearch_url.rstrip('/')}/{settings.elasticsearch_index}/_search"
    with http_client() as client:
        answer = fetch(report, "elasticsearch", client, "POST", url, json=query.elasticsearch)
    if answer is None:
        return None
    body = json_of(answer)
    if answer.status_code != 200 or not isinstance(body, dict):
        error = body.get("error") if isinstance(body, dict) else None
        why = error.get("reason") if isinstance(error, dict) else answer.text[:200]
        report.add("elasticsearch", "fail", f"_search answered {answer.status_code}: {why}")
        return None
    lines = []
    for hit in body.get("hits", {}).get("hits", []):
        source = hit.get("_source", {})
        record = source.get(query.record_key, {}) if query.record_key else source
        line = parse_line(record, fallback_time=source.get("@timestamp"))
        if line is not None and query.wanted(line):
            lines.append(line)
    total = body.get("hits", {}).get("total", {})
    matched = total.get("value", len(lines)) if isinstance(total, dict) else len(lines)
    if matched > len(lines):
        report.add("elasticsearch", "info", f"summarized the first {len(lines)} of {matched} hits")
    return lines


def _from_file(
    report: Report, path: Path, query: LogQuery, since: datetime
) -> list[LogLine] | None:
    lines = []
    try:
        with path.open(encoding="utf-8", errors="replace") as handle:
            for raw in handle:
                # Cheap test first: most lines of a big file are not wanted.
                if not raw.startswith("{") or not query.might_match(raw):
                    continue
                try:
                    record = json.loads(raw)
                except ValueError:
                    continue
                line = parse_line(record) if isinstance(record, dict) else None
                if line is not None and line.at >= since and query.wanted(line):
                    lines.append(line)
    except OSError as exc:
        report.add("log file", "unreachable", f"cannot read {path} ({reason(exc)})")
        return None
    return lines


def _field(record: dict[str, Any], name: str) -> Any:
    """A field as the service writes it (`url.path`) or as indexed (`url_path`)."""
    return record.get(name, record.get(name.replace(".", "_")))


def parse_line(record: dict[str, Any], fallback_time: Any = None) -> LogLine | None:
    """One log record (as written, or as indexed) as a `LogLine`; None if it has no
    time or level."""
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
    took = _field(record, "response_time")
    stack = _field(record, "error.stack_trace") or _field(record, "exception") or None
    return LogLine(
        at=at,
        level=level,
        message=message.splitlines()[0] if message else "(no message)",
        endpoint=f"{method} {endpoint}" if method and endpoint else str(endpoint or "-"),
        request_id=_field(record, "request_id") or None,
        status=int(status) if isinstance(status, int | float) else None,
        customer=_field(record, "customer_id") or None,
        error=_error_text(record, stack),
        stack_trace=str(stack) if stack else None,
        response_ms=float(took) if isinstance(took, int | float) else None,
    )


def _error_text(record: dict[str, Any], stack: Any) -> str | None:
    """`Type: message` of the line's exception: the ECS fields, or a traceback's last line
    (lines written by libraries, such as uvicorn's, carry only the traceback)."""
    kind, text = _field(record, "error.type"), _field(record, "error.message")
    if kind:
        return f"{kind}: {text}" if text else str(kind)
    if stack:
        # The last `module.Type: message` line: a message may run on over more lines
        # (SQLAlchemy adds its SQL and a link), and chained tracebacks come first.
        raised = [line for line in str(stack).splitlines() if _RAISED.match(line)]
        return raised[-1].strip() if raised else None
    return None
