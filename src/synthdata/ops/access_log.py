"""The service's JSON access log, read back: one `AccessLine` per request in a time window.

`synthdata serve` appends every JSON log line to `SYNTHDATA_LOG_FILE`; the access lines
are those written by `observability/http.py` (message `request`), with the fields
`@timestamp`, `http.request.method`, `url.path`, `http.route`,
`http.response.status_code`, `response_time` (ms), `customer_id`, `source.ip` and
`request_id`, and `auth_failure` (the `auth_failures_total` reason) on a request
refused for its credentials or a lockout. Lines of other kinds, and lines that are not
JSON, are skipped.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from synthdata.ops.timeparse import parse_timestamp


@dataclass(frozen=True)
class AccessLine:
    """One request as the access log recorded it."""

    at: datetime
    method: str
    path: str
    route: str
    status: int
    response_time_ms: float
    source: str
    customer_id: str | None
    request_id: str | None
    auth_failure: str | None = None


def _first(record: dict[str, Any], *names: str) -> Any:
    for name in names:
        if record.get(name) is not None:
            return record[name]
    return None


def parse_access_line(text: str) -> AccessLine | None:
    """The request in one log line, or None for anything that is not an access line."""
    try:
        record = json.loads(text)
    except ValueError:
        return None
    if not isinstance(record, dict):
        return None
    status = _first(record, "http.response.status_code", "status")
    stamp = _first(record, "@timestamp", "timestamp")
    if status is None or stamp is None:
        return None
    try:
        path = str(_first(record, "url.path", "path") or "")
        return AccessLine(
            at=parse_timestamp(str(stamp)),
            method=str(_first(record, "http.request.method", "method") or ""),
            path=path,
            route=str(_first(record, "http.route", "endpoint") or path),
            status=int(status),
            response_time_ms=float(_first(record, "response_time") or 0.0),
            source=str(_first(record, "source.ip", "source_ip") or "unknown"),
            customer_id=_first(record, "customer_id"),
            request_id=_first(record, "request_id"),
            auth_failure=_first(record, "auth_failure"),
        )
    except (TypeError, ValueError):
        return None


def read_access_lines(path: Path, start: datetime, end: datetime) -> Iterator[AccessLine]:
    """Access lines of `path` with `start <= at < end`, in file order.

    Raises `OSError` when the file cannot be read (the caller reports where).
    """
    with path.open(encoding="utf-8", errors="replace") as stream:
        for text in stream:
            line = parse_access_line(text)
            if line is not None and start <= line.at < end:
                yield line
