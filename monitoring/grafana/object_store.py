"""The Infrastructure dashboard's "Object Store" row: the artifact store behind the API
and the workers (synthdata.artifacts), as its alerts read it (rules/objectstore.yml).

A part of monitoring/grafana/dashboards.py, which loads it by path, as it loads
infrastructure.py, and appends the row to the Infrastructure dashboard.
"""

from __future__ import annotations

from synthdata.ops.dashboards import Panel, Query, Row

RI = "$__rate_interval"


def _q(expr: str, legend: str = "") -> tuple[Query, ...]:
    return (Query(" ".join(expr.split()), legend),)


OBJECT_STORE = Row(
    "Object Store",
    (
        Panel(
            "Store Requests by Operation and Outcome",
            "reqps",
            _q(
                f"sum by (operation, outcome) (rate(synthdata_store_requests_total[{RI}]))",
                "{{operation}} {{outcome}}",
            ),
            description="Every API and worker process's requests to the artifact store. "
            "not_found is an answer (a missing key asked for), not an error; "
            "ObjectStoreErrorsHigh fires above 5 % errors for 10 minutes.",
        ),
        Panel(
            "Store Latency p95 by Operation",
            "s",
            _q(
                f"histogram_quantile(0.95, sum by (operation, le) "
                f"(rate(synthdata_store_request_duration_seconds_bucket[{RI}])))",
                "{{operation}}",
            ),
            description="A streamed put counts from opening to commit. "
            "ObjectStoreLatencyHigh fires when put or get is above 2 s for 10 minutes.",
        ),
        Panel(
            "Store Throughput",
            "Bps",
            _q(
                f"sum by (direction) (rate(synthdata_store_bytes_total[{RI}]))",
                "{{direction}}",
            ),
            description="Bytes written to and read from the store per second.",
            width=8,
        ),
        Panel(
            "Store Reachable",
            "short",
            (
                Query("max(synthdata_store_up)", "from any process"),
                Query("min(synthdata_store_up)", "from every process"),
            ),
            kind="stat",
            description="1 when the last probe (write, read, delete) passed. "
            "ObjectStoreUnreachable fires when no process reaches the store for 2 minutes; "
            "'every process' at 0 alone is one pod, left to its readiness probe.",
            width=8,
        ),
        Panel(
            "Orphan Objects",
            "short",
            _q("max(synthdata_store_orphan_objects)", "orphans"),
            description="Objects under customers/ no row names, still there after the last "
            "orphan sweep (younger than the grace, or not deletable). "
            "ObjectStoreOrphansHigh above 1000 for 1 hour.",
            width=8,
        ),
    ),
)
