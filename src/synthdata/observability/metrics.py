"""The metric contract: every metric the runbook reads, defined once, here.

Names follow the runbook; where it breaks Prometheus conventions we keep its intent
and fix the form (docs/metrics.md lists each correction):
- `synthdata_active_users` is a gauge, so it has no `_total` suffix;
- `cert_expiry_days` is exposed in the base unit, `cert_expiry_seconds` (promtool's
  lint rejects a `_days` name); queries divide by 86400;
- per-source traffic is a bounded top-N of the last minute, a gauge of each heavy
  hitter's request rate (`synthdata_source_requests_per_second`), never one series
  per address;
- `privileged_operations_total` is counted from the audit log at scrape time, so the
  actions of every process that writes it (the CLI too) reach Prometheus;
- the queue length, jobs queued, active users, certificate expiry and open incidents
  are read from their source of truth at scrape time, so every replica reports the
  same correct value.

Code elsewhere imports these objects and only calls `.labels(...).inc()` /
`.observe()`; no metric is created anywhere else.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

from prometheus_client import REGISTRY, Counter, Gauge, Histogram, disable_created_metrics
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

# Request latency: fine around the 500 ms objective and the 1 s alert threshold.
HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.4, 0.5, 0.75, 1.0, 1.5, 2.5, 5.0, 10.0)
# Generation: around the runbook's size-class baselines (30 s, 5 min, 30 min).
GENERATION_BUCKETS = (0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300, 600, 1200, 1800, 3600)
TRAINING_BUCKETS = (0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800)
# Time to acknowledge an incident: around the runbook's response times (15 min, 1 h, 4 h,
# next business day).
ACK_BUCKETS = (60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 28800, 57600, 86400, 172800)

T = TypeVar("T")

# `*_created` series double the output and nothing in the runbook reads them.
disable_created_metrics()

SIZE_CLASSES = ("small", "medium", "large")
AUTH_FAILURE_REASONS = ("missing", "unknown", "revoked", "locked_out", "forbidden")
DIRECTIONS = ("in", "out")
SEVERITIES = ("SEV-1", "SEV-2", "SEV-3", "SEV-4")
ESCALATION_TARGETS = ("pagerduty", "slack")
ESCALATION_OUTCOMES = ("sent", "failed", "skipped")

http_requests_total = Counter(
    "http_requests",
    "HTTP requests served, by route template and numeric status code.",
    ["method", "endpoint", "status"],
)
http_requests_shed_total = Counter(
    "synthdata_http_requests_shed",
    "Requests refused on purpose to shed load (the circuit breaker's 503s), by route "
    "template and reason; also counted in http_requests_total, and subtracted from the "
    "5xx of the error-ratio rules: a working mitigation is not an error.",
    ["method", "endpoint", "reason"],
)
http_request_duration_seconds = Histogram(
    "http_request_duration_seconds",
    "Time from request received to response sent, by route template (a refusal held "
    "by the rate limiter's tarpit counts without its hold).",
    ["method", "endpoint"],
    buckets=HTTP_BUCKETS,
)
generation_total = Counter(
    "synthdata_generation",
    "Generation jobs attempted (counted when a job starts running).",
    ["synthesizer"],
)
generation_success_total = Counter(
    "synthdata_generation_success",
    "Generation jobs that finished with a result.",
    ["synthesizer"],
)
generation_failures_total = Counter(
    "synthdata_generation_failures",
    "Generation jobs that ended failed (counted when the failure is committed); with "
    "synthdata_generation_success_total it gives the success rate of finished jobs.",
    ["synthesizer"],
)
generation_chunks_completed_total = Counter(
    "synthdata_generation_chunks_completed",
    "Row-range chunks of generation jobs written and committed: the progress of running "
    "jobs, which a job start or end alone does not show.",
    ["synthesizer"],
)
generation_duration_seconds = Histogram(
    "synthdata_generation_duration_seconds",
    "Wall time of a successful generation job, by the size class of the larger of its "
    "input table and its result file (small < 1 MB, medium 1-100 MB, large > 100 MB).",
    ["synthesizer", "size_class"],
    buckets=GENERATION_BUCKETS,
)
model_training_duration_seconds = Histogram(
    "synthdata_model_training_duration_seconds",
    "Time to fit a synthesizer on a dataset.",
    ["synthesizer"],
    buckets=TRAINING_BUCKETS,
)
MODEL_CACHE_RESULTS = ("hit", "miss")
model_cache_requests_total = Counter(
    "synthdata_model_cache_requests",
    "Fitted-model cache lookups by generation jobs (hit: the fit was skipped).",
    ["result"],
)
for _result in MODEL_CACHE_RESULTS:  # both series exist from start-up, in every process
    model_cache_requests_total.labels(_result)
data_processed_bytes_total = Counter(
    "synthdata_data_processed_bytes",
    "Bytes of table data received (uploads) and sent (results).",
    ["direction"],
)
api_requests_total = Counter(
    "synthdata_api_requests",
    "Authenticated API requests, by customer: the busiest customers each have a series, "
    'the others are counted as customer_id="other".',
    ["customer_id"],
)
revenue_generated_total = Counter(
    "synthdata_revenue_generated",
    "Revenue from succeeded jobs at the customer's plan price, by currency.",
    ["currency"],
)
auth_failures_total = Counter(
    "auth_failures",
    "Rejected authentications, by reason (never by address or user).",
    ["reason"],
)
incident_time_to_ack_seconds = Histogram(
    "incident_time_to_ack_seconds",
    "Time from an incident opening to its acknowledgement, by severity.",
    ["severity"],
    buckets=ACK_BUCKETS,
)
incident_escalations_total = Counter(
    "incident_escalations",
    "Escalations of unacknowledged incidents, by target (pagerduty, slack) and outcome "
    "(sent, failed, skipped: target not configured).",
    ["target", "outcome"],
)

# The artifact store (artifacts/metrics.py records them around every backend). Labels
# name the backend and the operation, never a key, a bucket or a credential.
STORE_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
STORE_OPERATIONS = ("put", "get", "head", "list", "delete", "presign", "check")
STORE_OUTCOMES = ("ok", "error", "not_found")
store_requests_total = Counter(
    "synthdata_store_requests",
    "Artifact store requests by operation (put|get|head|list|delete|presign|check) and "
    "outcome (ok|error|not_found).",
    ["backend", "operation", "outcome"],
)
store_request_duration_seconds = Histogram(
    "synthdata_store_request_duration_seconds",
    "Time an artifact store operation took; a streamed put or get counts from opening to "
    "commit or close, the caller's own work between writes included.",
    ["backend", "operation"],
    buckets=STORE_BUCKETS,
)
store_bytes_total = Counter(
    "synthdata_store_bytes",
    "Bytes written to (direction=written) or read from (direction=read) the artifact store.",
    ["backend", "direction"],
)
# Set where they are measured (a check, a sweep), so plain gauges; one process renders
# them with the process collectors, several merge their files (latest value wins).
store_up = Gauge(
    "synthdata_store_up",
    "1 when this process's last check of the artifact store (write, read and delete a "
    "probe object) passed, 0 when it failed.",
    ["backend"],
    multiprocess_mode="livemostrecent",
)
store_orphan_objects = Gauge(
    "synthdata_store_orphan_objects",
    "Objects under customers/ that no database row references, as the last orphan sweep "
    "counted them.",
    multiprocess_mode="mostrecent",
)
GAUGE_METRICS: tuple[Gauge, ...] = (store_up, store_orphan_objects)

# Every counter and histogram above, in exposition order (`/metrics` renders these
# from their series directly; a test checks none is missing).
SERIES_METRICS: tuple[Counter | Histogram, ...] = (
    http_requests_total,
    http_requests_shed_total,
    http_request_duration_seconds,
    generation_total,
    generation_success_total,
    generation_failures_total,
    generation_chunks_completed_total,
    generation_duration_seconds,
    model_training_duration_seconds,
    model_cache_requests_total,
    data_processed_bytes_total,
    api_requests_total,
    revenue_generated_total,
    auth_failures_total,
    incident_time_to_ack_seconds,
    incident_escalations_total,
    store_requests_total,
    store_request_duration_seconds,
    store_bytes_total,
)


def size_class(input_bytes: int) -> str:
    """The runbook's dataset size classes: < 1 MB, 1-100 MB, > 100 MB."""
    if input_bytes < 1_000_000:
        return "small"
    if input_bytes <= 100_000_000:
        return "medium"
    return "large"


def preinitialise(
    synthesizers: Iterable[str], currencies: Iterable[str], operations: Iterable[str]
) -> None:
    """Create the known label combinations at 0, so alerts see series before any event."""
    for name in synthesizers:
        generation_total.labels(name)
        generation_success_total.labels(name)
        generation_failures_total.labels(name)
        generation_chunks_completed_total.labels(name)
        model_training_duration_seconds.labels(name)
        for size in SIZE_CLASSES:
            generation_duration_seconds.labels(name, size)
    for reason in AUTH_FAILURE_REASONS:
        auth_failures_total.labels(reason)
    for direction in DIRECTIONS:
        data_processed_bytes_total.labels(direction)
    for currency in currencies:
        revenue_generated_total.labels(currency)
    scrape_time.known_operations = tuple(operations)
    for severity in SEVERITIES:
        incident_time_to_ack_seconds.labels(severity)
    for target in ESCALATION_TARGETS:
        for outcome in ESCALATION_OUTCOMES:
            incident_escalations_total.labels(target, outcome)


class ScrapeTimeGauges(Collector):
    """Gauges read from their source of truth when Prometheus scrapes.

    Each reader returns the value (or label -> value) at that moment; a reader that
    fails is skipped for that scrape rather than reporting a stale number.
    """

    def __init__(self) -> None:
        self.queue_length: Callable[[], float] | None = None
        self.work_in_flight: Callable[[], float] | None = None
        self.jobs_queued: Callable[[], float] | None = None
        self.active_users: Callable[[], float] | None = None
        self.cert_expiry_seconds: Callable[[], dict[str, float]] | None = None
        self.incidents_open: Callable[[], dict[str, float]] | None = None
        # operation -> privileged audit-log entries ever written (every process's)
        self.privileged_operations: Callable[[], dict[str, float]] | None = None
        self.known_operations: tuple[str, ...] = ()  # reported at 0 before the first
        # source address -> requests per second over the last minute (heavy hitters only)
        self.source_request_rates: Callable[[], dict[str, float]] | None = None

    def collect(self) -> Iterable[GaugeMetricFamily | CounterMetricFamily]:
        if self.queue_length is not None:
            value = _safe(self.queue_length)
            if value is not None:
                yield GaugeMetricFamily(
                    "synthdata_generation_queue_length",
                    "Generation messages waiting in the queue: one per job phase (prepare, each "
                    "chunk, finalize), not per job. Read from the queue itself, so every replica "
                    "reports the same value: aggregate with max, not sum.",
                    value=value,
                )
        if self.work_in_flight is not None:
            value = _safe(self.work_in_flight)
            if value is not None:
                yield GaugeMetricFamily(
                    "synthdata_generation_work_in_flight",
                    "Job phases and chunks a worker holds right now under a live lease "
                    "(read from the database): busy workers, even before any chunk ends.",
                    value=value,
                )
        if self.jobs_queued is not None:
            value = _safe(self.jobs_queued)
            if value is not None:
                yield GaugeMetricFamily(
                    "synthdata_generation_jobs_queued",
                    "Jobs submitted and not yet started by any worker (state queued), read "
                    "from the database: the backlog in jobs, however many chunks a running "
                    "job has queued. Every replica reports the same value: aggregate with max.",
                    value=value,
                )
        if self.active_users is not None:
            value = _safe(self.active_users)
            if value is not None:
                yield GaugeMetricFamily(
                    "synthdata_active_users",
                    "Distinct API keys seen in the last 5 minutes.",
                    value=value,
                )
        if self.cert_expiry_seconds is not None:
            certs = _safe(self.cert_expiry_seconds)
            if certs is not None:
                family = GaugeMetricFamily(
                    "cert_expiry_seconds",
                    "Seconds until the certificate expires (negative once expired).",
                    labels=["certificate"],
                )
                for name, seconds in sorted(certs.items()):
                    family.add_metric([name], seconds)
                yield family
        if self.incidents_open is not None:
            counts = _safe(self.incidents_open)
            if counts is not None:
                family = GaugeMetricFamily(
                    "incidents_open",
                    "Unresolved incidents by severity (read from the database).",
                    labels=["severity"],
                )
                for severity, count in sorted({**dict.fromkeys(SEVERITIES, 0.0), **counts}.items()):
                    family.add_metric([severity], count)
                yield family
        yield from self._security()

    def _security(self) -> Iterable[GaugeMetricFamily | CounterMetricFamily]:
        if self.privileged_operations is not None:
            done = _safe(self.privileged_operations)
            if done is not None:
                counter = CounterMetricFamily(
                    "privileged_operations",
                    "Privileged actions in the audit log (customer and key management, "
                    "circuit breaker, cache configuration, cluster changes), by any process "
                    "(API, CLI); read from the database, so every replica reports the same "
                    "total. On-call work on incidents is audited but not counted.",
                    labels=["operation"],
                )
                known = dict.fromkeys(self.known_operations, 0.0)
                for operation, count in sorted({**known, **done}.items()):
                    counter.add_metric([operation], count)
                yield counter
        if self.source_request_rates is not None:
            rates = _safe(self.source_request_rates)
            if rates is not None:
                gauge = GaugeMetricFamily(
                    "synthdata_source_requests_per_second",
                    "Requests per second over the last minute from each of the current "
                    "heavy-hitter source addresses (at most a few per process; an address "
                    "that stops sending drops out). Every other address is in the access "
                    "log only.",
                    labels=["source_ip"],
                )
                for source, rate in sorted(rates.items()):
                    gauge.add_metric([source], rate)
                yield gauge


def _safe(reader: Callable[[], T]) -> T | None:
    try:
        return reader()
    except Exception:  # a broken source must not break the whole scrape
        return None


scrape_time = ScrapeTimeGauges()
REGISTRY.register(scrape_time)
