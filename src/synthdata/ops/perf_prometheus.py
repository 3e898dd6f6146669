"""What the performance report and comparison ask Prometheus.

Over a period, the report plots each series of a recorded rule from
`monitoring/prometheus/rules/` when Prometheus has it (cheap over 7 days), and the
rule's own expression otherwise (a Prometheus without our rule files loaded). The
comparison needs one number per window of any length, which no fixed-window rule
gives, so it sums the counters' increase over the window itself (the corrected
expressions of `docs/runbook.md`, with the window as the range).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from synthdata.ops.live_api import ApiError, LiveApi, Unreachable

POINTS = 300  # samples per series over the report's period


@dataclass(frozen=True)
class RangeQuery:
    """One chart line family: the recorded rule and the expression it records."""

    name: str
    title: str
    unit: str
    recorded: str
    expression: str


RANGE_QUERIES = (
    RangeQuery(
        "latency_p95",
        "API latency p95",
        "seconds",
        "job:http_request_duration_seconds:p95_5m",
        "histogram_quantile(0.95, sum by (job, le)"
        " (rate(http_request_duration_seconds_bucket[5m])))",
    ),
    RangeQuery(
        "request_rate",
        "API requests per second",
        "requests/s",
        "job:http_requests:rate5m",
        "sum by (job) (rate(http_requests_total[5m]))",
    ),
    RangeQuery(
        "error_ratio",
        "API 5xx ratio",
        "ratio",
        "job:http_request_errors:ratio_rate5m",
        # A job that never answered a 5xx has no 5xx series: its ratio is 0, not absent.
        '(sum by (job) (rate(http_requests_total{status=~"5.."}[5m]))'
        " or 0 * sum by (job) (rate(http_requests_total[5m])))"
        " / sum by (job) (rate(http_requests_total[5m]))",
    ),
    RangeQuery(
        "generation_p95",
        "Generation duration p95 by size class",
        "seconds",
        "size_class:synthdata_generation_duration_seconds:p95_1h",
        "histogram_quantile(0.95, sum by (size_class, le)"
        " (rate(synthdata_generation_duration_seconds_bucket[1h])))",
    ),
)


def window_queries(seconds: int) -> dict[str, str]:
    """One value per window: p95 latency and the 5xx ratio over the last `seconds`."""
    window = f"[{max(seconds, 1)}s]"
    return {
        "p95_ms": "1000 * histogram_quantile(0.95, sum by (le)"
        f" (increase(http_request_duration_seconds_bucket{window})))",
        "error_rate": f'(sum(increase(http_requests_total{{status=~"5.."}}{window})) or vector(0))'
        f" / sum(increase(http_requests_total{window}))",
        "requests": f"sum(increase(http_requests_total{window}))",
    }


@dataclass
class Series:
    """One line of a chart: its labels and its (unix time, value) points."""

    labels: dict[str, str]
    points: list[tuple[float, float]] = field(default_factory=list)

    @property
    def label(self) -> str:
        shown = {k: v for k, v in self.labels.items() if k != "__name__"}
        return ", ".join(f"{k}={v}" for k, v in sorted(shown.items())) or "all"


@dataclass
class RangeResult:
    """What one range query gave, and from which expression."""

    query: RangeQuery
    source: str  # "recorded rule" or "expression"
    series: list[Series]


class PrometheusError(Exception):
    """Prometheus could not be asked (unreachable, or it refused the query)."""


def _series(data: dict[str, Any]) -> list[Series]:
    found = []
    for item in data.get("result") or []:
        points = [(float(t), float(v)) for t, v in item.get("values", [])]
        points = [(t, v) for t, v in points if math.isfinite(v)]
        if points:
            found.append(Series(dict(item.get("metric") or {}), points))
    return found


def fetch_ranges(url: str, start: datetime, end: datetime) -> list[RangeResult]:
    """Every `RANGE_QUERIES` line over [start, end]; `PrometheusError` when unreachable."""
    step = max(15, math.ceil((end - start).total_seconds() / POINTS))
    # Points fall on end, end - step, ...: the newest data is always in the last one.
    first = end.timestamp() - step * math.floor((end - start).total_seconds() / step)
    params = {"start": f"{first:.3f}", "end": f"{end.timestamp():.3f}", "step": step}
    results = []
    try:
        with LiveApi("Prometheus", url) as api:
            for query in RANGE_QUERIES:
                data = api.get("/api/v1/query_range", query=query.recorded, **params)
                source, series = "recorded rule", _series(data)
                if not series:
                    data = api.get("/api/v1/query_range", query=query.expression, **params)
                    source, series = "expression", _series(data)
                results.append(RangeResult(query, source, series))
    except (Unreachable, ApiError) as exc:
        raise PrometheusError(str(exc)) from None
    return results


def window_values(url: str, start: datetime, end: datetime) -> dict[str, float | None]:
    """p95 (ms), 5xx ratio and request count over [start, end] (None: no data)."""
    values: dict[str, float | None] = {}
    seconds = math.ceil((end - start).total_seconds())
    try:
        with LiveApi("Prometheus", url) as api:
            for name, expr in window_queries(seconds).items():
                items = api.query(expr, at=end)
                value = float(items[0]["value"][1]) if items else math.nan
                values[name] = value if math.isfinite(value) else None
    except (Unreachable, ApiError) as exc:
        raise PrometheusError(str(exc)) from None
    if not values.get("requests"):
        return {name: None for name in values}
    return values


def all_expressions() -> list[str]:
    """Every PromQL string this module may send (for the parser test)."""
    exprs = [q.recorded for q in RANGE_QUERIES] + [q.expression for q in RANGE_QUERIES]
    return exprs + list(window_queries(86_400).values())
