"""The source of truth of the Grafana dashboards in `dashboards/*.json`.

Regenerate after editing:   .venv/bin/python monitoring/grafana/dashboards.py
Check for drift (CI):       .venv/bin/python monitoring/grafana/dashboards.py --check
(`scripts/generate-dashboards.sh` with no `--template` does the same.)

Queries follow docs/metrics.md and docs/runbook.md ("Corrected queries"): ratios are
ratios of sums, quantiles use `rate()` of the buckets summed by `le`, `by` follows an
aggregation, and every `rate()`/`increase()` window is `$__rate_interval` so a panel
stays correct at any zoom and scrape interval.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from synthdata.ops.dashboards import (
    Dashboard,
    Panel,
    Query,
    Row,
    drift,
    write_dashboards,
)

OUTPUT = Path(__file__).resolve().parent / "dashboards"
RI = "$__rate_interval"
API = 'job="synthdata-api"'
# User traffic, as the SLO rules count it: no /metrics scrapes, no kubelet probes.
USERS = 'endpoint!~"/metrics|/healthz|/readyz"'
QUEUE_DESCRIPTION = (
    "Messages waiting in the queue: a job is one prepare message, one per chunk and one "
    "finalize, so this is work waiting, not jobs. Every API and worker replica reads the "
    "same queue, hence max over replicas (a sum would count it once per replica)."
)
JOBS_WAITING_DESCRIPTION = (
    "Jobs submitted and not yet started by any worker (state queued, read from the "
    "database): the backlog GenerationQueueBacklog alerts on (> 50 for 15 minutes). One "
    "long job queues many chunk messages but is not waiting. Max over replicas, which "
    "all report the same value."
)


def _q(expr: str, legend: str = "", instant: bool = False) -> tuple[Query, ...]:
    return (Query(" ".join(expr.split()), legend, instant),)


def _p95(bucket: str, by: str, selector: str = "") -> str:
    return f"histogram_quantile(0.95, sum by ({by}) (rate({bucket}{selector}[{RI}])))"


def _sibling(name: str) -> ModuleType:
    """Another definitions file of this folder. This file is loaded by path (the CLI,
    the tests, `monitoring-maintenance`), so its folder is not on sys.path and a plain
    `import` of a sibling would fail."""
    path = Path(__file__).resolve().parent / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"synthdata_dashboards_{name}", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SYSTEM_OVERVIEW = Dashboard(
    uid="synthdata-system-overview",
    title="Inferloop Synthetic Data - System Overview",
    description="The runbook's System Overview: request rate, error rate, p95 response time.",
    rows=(
        Row(
            "API",
            (
                Panel(
                    "API Request Rate",
                    "reqps",
                    _q(f"sum by (method) (rate(http_requests_total[{RI}]))", "{{method}}"),
                ),
                Panel(
                    "Error Rate",
                    "percentunit",
                    _q(
                        f'sum(rate(http_requests_total{{status=~"5..", {USERS}}}[{RI}])) '
                        f"/ sum(rate(http_requests_total{{{USERS}}}[{RI}]))"
                    ),
                    kind="stat",
                    description="Share of user requests answered 5xx (objective: below 0.1 %; "
                    "probes and scrapes not counted).",
                    width=6,
                ),
                Panel(
                    "Availability",
                    "percentunit",
                    _q(
                        f'sum(rate(http_requests_total{{status!~"5..", {USERS}}}[{RI}])) '
                        f"/ sum(rate(http_requests_total{{{USERS}}}[{RI}]))"
                    ),
                    kind="stat",
                    description="Share of user requests not answered 5xx (SLA: 99.9 %; probes "
                    "and scrapes not counted).",
                    width=6,
                ),
                Panel(
                    "Response Time (p95)",
                    "s",
                    _q(_p95("http_request_duration_seconds_bucket", "le", f"{{{USERS}}}"), "p95"),
                    description="95th percentile over user requests (objective: below 500 ms; "
                    "probes and scrapes not counted).",
                ),
                Panel(
                    "Request Volume by Endpoint",
                    "reqps",
                    _q(
                        f"sum by (method, endpoint) (rate(http_requests_total[{RI}]))",
                        "{{method}} {{endpoint}}",
                    ),
                ),
            ),
        ),
        Row(
            "Generation",
            (
                Panel(
                    "Jobs Waiting to Start",
                    "short",
                    _q("max(synthdata_generation_jobs_queued)", "jobs waiting"),
                    kind="stat",
                    description=JOBS_WAITING_DESCRIPTION,
                    width=6,
                ),
                Panel(
                    "Generation Queue (messages)",
                    "short",
                    _q("max(synthdata_generation_queue_length)", "messages queued"),
                    kind="stat",
                    description=QUEUE_DESCRIPTION,
                    width=6,
                ),
                Panel(
                    "Active Users",
                    "short",
                    _q("max(synthdata_active_users)", "users"),
                    kind="stat",
                    width=6,
                ),
                Panel(
                    "Targets Up",
                    "short",
                    _q('sum by (job) (up{job=~"synthdata-.*"})', "{{job}}"),
                    kind="stat",
                    width=6,
                ),
            ),
        ),
    ),
)

APPLICATION = Dashboard(
    uid="synthdata-application",
    title="Inferloop Synthetic Data - Application and Generation",
    description="Generation jobs, model training and per-endpoint API behaviour.",
    rows=(
        Row(
            "Generation",
            (
                Panel(
                    "Generation Success Rate",
                    "percentunit",
                    _q(
                        f"sum by (synthesizer) (rate(synthdata_generation_success_total[{RI}])) "
                        f"/ (sum by (synthesizer) (rate(synthdata_generation_success_total[{RI}])) "
                        "+ sum by (synthesizer) "
                        f"(rate(synthdata_generation_failures_total[{RI}])))",
                        "{{synthesizer}}",
                    ),
                    description="Over finished jobs: succeeded / (succeeded + failed), as "
                    "GenerationSuccessRateLow; jobs still running are not counted.",
                ),
                Panel(
                    "Generation Duration p95 by Size Class",
                    "s",
                    _q(
                        _p95("synthdata_generation_duration_seconds_bucket", "size_class, le"),
                        "{{size_class}}",
                    ),
                    description="Baselines: small < 30 s, medium < 5 min, large < 30 min.",
                ),
                Panel(
                    "Generation Queue (messages)",
                    "short",
                    _q("max(synthdata_generation_queue_length)", "messages queued"),
                    description=QUEUE_DESCRIPTION,
                ),
                Panel(
                    "Jobs Waiting to Start",
                    "short",
                    _q("max(synthdata_generation_jobs_queued)", "jobs waiting"),
                    description=JOBS_WAITING_DESCRIPTION,
                ),
                Panel(
                    "Jobs Started, Succeeded and Failed",
                    "ops",
                    (
                        Query(f"sum(rate(synthdata_generation_total[{RI}]))", "started"),
                        Query(f"sum(rate(synthdata_generation_success_total[{RI}]))", "succeeded"),
                        Query(f"sum(rate(synthdata_generation_failures_total[{RI}]))", "failed"),
                    ),
                ),
                Panel(
                    "Generation Progress",
                    "short",
                    (
                        Query(
                            f"sum(rate(synthdata_generation_chunks_completed_total[{RI}])) * 60",
                            "chunks completed / min",
                        ),
                        Query("max(synthdata_generation_work_in_flight)", "in flight"),
                    ),
                    description="What GenerationQueueStalled reads: chunks completed, and job "
                    "phases and chunks held under a live lease. Queued work with neither is "
                    "stalled.",
                ),
                Panel(
                    "Model Training Time p95",
                    "s",
                    _q(
                        _p95("synthdata_model_training_duration_seconds_bucket", "synthesizer, le"),
                        "{{synthesizer}}",
                    ),
                    width=24,
                ),
            ),
        ),
        Row(
            "Endpoints",
            (
                Panel(
                    "Request Rate by Endpoint",
                    "reqps",
                    _q(
                        f"sum by (endpoint) (rate(http_requests_total[{RI}]))",
                        "{{endpoint}}",
                    ),
                ),
                Panel(
                    "Latency p95 by Endpoint",
                    "s",
                    _q(
                        _p95("http_request_duration_seconds_bucket", "endpoint, le"), "{{endpoint}}"
                    ),
                ),
                Panel(
                    "Error Ratio by Endpoint",
                    "percentunit",
                    _q(
                        f'sum by (endpoint) (rate(http_requests_total{{status=~"5.."}}[{RI}])) '
                        f"/ sum by (endpoint) (rate(http_requests_total[{RI}]))",
                        "{{endpoint}}",
                    ),
                ),
                Panel(
                    "Responses by Status",
                    "reqps",
                    _q(f"sum by (status) (rate(http_requests_total[{RI}]))", "{{status}}"),
                ),
            ),
        ),
    ),
)

# Built in infrastructure.py, its object store row in object_store.py (kept apart for
# length).
_INFRASTRUCTURE = _sibling("infrastructure").INFRASTRUCTURE
INFRASTRUCTURE = dataclasses.replace(
    _INFRASTRUCTURE,
    description=_INFRASTRUCTURE.description.replace(
        "PostgreSQL and Redis", "PostgreSQL, Redis and the object store"
    ),
    rows=(*_INFRASTRUCTURE.rows, _sibling("object_store").OBJECT_STORE),
)

BUSINESS = Dashboard(
    uid="synthdata-business",
    title="Inferloop Synthetic Data - Business Metrics",
    description="Users, data volume, usage per customer and revenue.",
    rows=(
        Row(
            "Usage",
            (
                Panel(
                    "Active Users",
                    "short",
                    _q("max(synthdata_active_users)", "users"),
                    kind="stat",
                    description="Distinct API keys used in the last 5 minutes (a gauge).",
                    width=8,
                ),
                Panel(
                    "Data Processed (per day)",
                    "decbytes",
                    _q(
                        f"sum by (direction) (rate(synthdata_data_processed_bytes_total[{RI}])) "
                        "* 86400",
                        "{{direction}}",
                    ),
                    description="Bytes per day at the current rate (uploads in, results out).",
                    width=16,
                ),
                Panel(
                    "Requests by Customer",
                    "reqps",
                    _q(
                        f"sum by (customer_id) (rate(synthdata_api_requests_total[{RI}]))",
                        "{{customer_id}}",
                    ),
                ),
                Panel(
                    "Top Customers",
                    "reqps",
                    _q(
                        f"topk(10, sum by (customer_id) "
                        f"(rate(synthdata_api_requests_total[{RI}])))",
                        "{{customer_id}}",
                        instant=True,
                    ),
                    kind="bargauge",
                ),
            ),
        ),
        Row(
            "Revenue",
            (
                Panel(
                    "Revenue by Currency (per hour)",
                    "short",
                    _q(
                        f"sum by (currency) (rate(synthdata_revenue_generated_total[{RI}])) * 3600",
                        "{{currency}}",
                    ),
                    description="Charges of succeeded jobs per hour, at the current rate.",
                    width=24,
                ),
            ),
        ),
    ),
)

SECURITY = Dashboard(
    uid="synthdata-security",
    title="Inferloop Synthetic Data - Security",
    description="Authentication failures, privileged operations, certificates, top sources.",
    rows=(
        Row(
            "Access",
            (
                Panel(
                    "Authentication Failures by Reason",
                    "ops",
                    _q(f"sum by (reason) (rate(auth_failures_total[{RI}]))", "{{reason}}"),
                ),
                Panel(
                    "Privileged Operations",
                    "short",
                    _q(
                        f"max by (operation) (increase(privileged_operations_total[{RI}]))",
                        "{{operation}}",
                    ),
                    description="Admin actions per interval, read from the audit log (every "
                    "replica reports the same count: the largest is shown).",
                ),
                Panel(
                    "Top Source Addresses",
                    "reqps",
                    _q(
                        "topk(10, sum by (source_ip) (synthdata_source_requests_per_second))",
                        "{{source_ip}}",
                        instant=True,
                    ),
                    kind="bargauge",
                    description="Requests per second over the last minute of the current heavy "
                    "hitters (the DDoSAttack series); every other address is in the access log.",
                ),
                Panel(
                    "Certificate Expiry",
                    "d",
                    _q(
                        "min by (certificate) (cert_expiry_seconds) / 86400",
                        "{{certificate}}",
                        instant=True,
                    ),
                    kind="bargauge",
                    description="Days left per certificate (warning < 30, critical < 7).",
                ),
            ),
        ),
    ),
)

DASHBOARDS = (SYSTEM_OVERVIEW, APPLICATION, INFRASTRUCTURE, BUSINESS, SECURITY)


def main(argv: list[str]) -> int:
    """Write the dashboards, or with `--check` report drift and exit 1."""
    if "--check" in argv:
        stale = drift(DASHBOARDS, OUTPUT)
        for name in stale:
            print(f"out of date: {OUTPUT / name}", file=sys.stderr)
        return 1 if stale else 0
    for path in write_dashboards(DASHBOARDS, OUTPUT):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
