"""What `health-check --comprehensive` asks the monitoring stack about the service's
state right now: the alerts that fire, the API's 5xx ratio and its p95 latency.

"Up" is not "healthy": during an incident every part answers its health probe while
a third of the requests fail. These findings read what the pager reads. Firing alerts
come from Prometheus (`/api/v1/alerts`) and Alertmanager (`/api/v2/alerts`), merged
by their labels, so an alert held by only one of them (another Prometheus replica, a
rule file this Prometheus lacks) still shows. The ratio and the p95 are computed from
the raw metrics, not from the recording rules, so a Prometheus without our rule files
still answers; they leave out `/metrics` and the probes, whose steady successes would
dilute the share of failed user requests.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import httpx

from synthdata.ops.diagnose import fetch, json_of
from synthdata.ops.report import Report, Status

# Thresholds of monitoring/prometheus/rules/ (availability.yml, latency.yml).
ERROR_OBJECTIVE = 0.001  # 99.9 % availability: above it the error budget burns
ERROR_ALERT = 0.01  # HighErrorRate
LATENCY_OBJECTIVE_S = 0.5  # p95 < 500 ms
LATENCY_ALERT_S = 1.0  # HighResponseTime
WINDOW = "5m"

# Requests that are not user traffic: Prometheus's scrapes and the probes.
_USER_TRAFFIC = 'endpoint!~"/metrics|/healthz|/readyz"'
_TOTAL = f"sum by (job) (rate(http_requests_total{{{_USER_TRAFFIC}}}[{WINDOW}]))"
# As the error-ratio rules: shed load (the circuit breaker's 503s) is not an error,
# and a job without any 5xx series reads 0, not nothing.
ERROR_RATIO = (
    "clamp_min("
    f'(sum by (job) (rate(http_requests_total{{status=~"5..",{_USER_TRAFFIC}}}[{WINDOW}]))'
    f" - (sum by (job) (rate(synthdata_http_requests_shed_total[{WINDOW}])) or 0 * {_TOTAL}))"
    f" or 0 * {_TOTAL}, 0) / {_TOTAL}"
)
LATENCY_P95 = (
    "histogram_quantile(0.95, sum by (job, le) "
    f"(rate(http_request_duration_seconds_bucket{{{_USER_TRAFFIC}}}[{WINDOW}])))"
)

_SEVERITY_STATUS: dict[str, Status] = {"critical": "fail", "warning": "warn"}


@dataclass
class FiringAlert:
    """One alert that fires, as Prometheus and/or Alertmanager know it."""

    labels: dict[str, str]
    since: str = ""
    summary: str = ""
    sources: list[str] = field(default_factory=list)
    suppressed: str = ""  # Alertmanager's "silenced"/"inhibited", when it is

    @property
    def name(self) -> str:
        return self.labels.get("alertname", "?")

    @property
    def severity(self) -> str:
        return self.labels.get("severity", "none")


def check_firing_alerts(
    report: Report, client: httpx.Client, prometheus_url: str, alertmanager_url: str
) -> None:
    """One finding per firing alert (critical: fail, warning: warn), or "none firing"."""
    alerts: dict[tuple[tuple[str, str], ...], FiringAlert] = {}
    asked: list[str] = []
    if prometheus_url:
        asked.append("Prometheus")
        for labels, since, summary in _prometheus_alerts(report, client, prometheus_url):
            alert = alerts.setdefault(_key(labels), FiringAlert(labels, since, summary))
            alert.sources.append("prometheus")
    if alertmanager_url:
        asked.append("Alertmanager")
        for labels, since, summary, suppressed in _alertmanager_alerts(
            report, client, alertmanager_url
        ):
            alert = alerts.setdefault(_key(labels), FiringAlert(labels, since, summary))
            alert.sources.append("alertmanager")
            alert.suppressed = suppressed
    if not asked:
        return
    ranked = sorted(alerts.values(), key=lambda a: (a.severity != "critical", a.name))
    for alert in ranked:
        status: Status = _SEVERITY_STATUS.get(alert.severity, "info")
        if alert.suppressed:
            status = "info"
        detail = f"{alert.severity} firing since {alert.since or '?'}"
        detail += f" ({', '.join(f'{k}={v}' for k, v in _identity(alert.labels).items())})"
        if alert.summary:
            detail += f": {alert.summary}"
        if alert.suppressed:
            detail += f" [{alert.suppressed} in Alertmanager]"
        report.add(
            f"alert {alert.name}",
            status,
            detail,
            labels=alert.labels,
            since=alert.since,
            sources=alert.sources,
            suppressed=alert.suppressed or None,
        )
    counted = len(ranked)
    report.add(
        "alerts firing",
        "ok" if not counted else "info",
        f"{counted} alert(s) firing ({' and '.join(asked)} asked)",
        count=counted,
    )


def _key(labels: dict[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(labels.items()))


def _identity(labels: dict[str, str]) -> dict[str, str]:
    """The labels that tell two alerts of one name apart (not name and severity)."""
    return {k: v for k, v in sorted(labels.items()) if k not in ("alertname", "severity")}


def _prometheus_alerts(
    report: Report, client: httpx.Client, url: str
) -> list[tuple[dict[str, str], str, str]]:
    answer = fetch(report, "alerts (prometheus)", client, "GET", f"{url.rstrip('/')}/api/v1/alerts")
    if answer is None:
        return []
    body = json_of(answer)
    if answer.status_code != 200 or not isinstance(body, dict):
        report.add("alerts (prometheus)", "fail", f"/api/v1/alerts answered {answer.status_code}")
        return []
    return [
        (
            dict(alert.get("labels") or {}),
            str(alert.get("activeAt") or ""),
            str((alert.get("annotations") or {}).get("summary") or ""),
        )
        for alert in (body.get("data") or {}).get("alerts", [])
        if alert.get("state") == "firing"
    ]


def _alertmanager_alerts(
    report: Report, client: httpx.Client, url: str
) -> list[tuple[dict[str, str], str, str, str]]:
    name = "alerts (alertmanager)"
    answer = fetch(report, name, client, "GET", f"{url.rstrip('/')}/api/v2/alerts")
    if answer is None:
        return []
    body = json_of(answer)
    if answer.status_code != 200 or not isinstance(body, list):
        report.add(name, "fail", f"/api/v2/alerts answered {answer.status_code}")
        return []
    found = []
    for alert in body:
        status = alert.get("status") or {}
        if status.get("state") == "unprocessed":
            continue
        suppressed = ""
        if status.get("silencedBy"):
            suppressed = "silenced"
        elif status.get("inhibitedBy"):
            suppressed = "inhibited"
        found.append(
            (
                dict(alert.get("labels") or {}),
                str(alert.get("startsAt") or ""),
                str((alert.get("annotations") or {}).get("summary") or ""),
                suppressed,
            )
        )
    return found


def check_traffic(report: Report, client: httpx.Client, prometheus_url: str) -> None:
    """The API's 5xx ratio and p95 over the last 5 minutes, per scrape job."""
    if not prometheus_url:
        return
    url = f"{prometheus_url.rstrip('/')}/api/v1/query"
    ratios = _instant(report, client, "5xx ratio", url, ERROR_RATIO)
    if ratios is not None:
        _judge_ratios(report, ratios)
    latencies = _instant(report, client, "latency p95", url, LATENCY_P95)
    if latencies is not None:
        _judge_latencies(report, latencies)


def _instant(
    report: Report, client: httpx.Client, name: str, url: str, expression: str
) -> dict[str, float] | None:
    """{job: value} of an instant query; None (with a finding) when it cannot be read."""
    answer = fetch(report, name, client, "GET", url, params={"query": expression})
    if answer is None:
        return None
    body: Any = json_of(answer)
    if answer.status_code != 200 or not isinstance(body, dict) or body.get("status") != "success":
        why = body.get("error") if isinstance(body, dict) else answer.text[:200]
        report.add(name, "fail", f"Prometheus query failed ({answer.status_code}): {why}")
        return None
    return {
        str(item["metric"].get("job", "?")): float(item["value"][1])
        for item in body["data"]["result"]
    }


def _judge_ratios(report: Report, ratios: dict[str, float]) -> None:
    if not ratios:
        report.add("5xx ratio", "ok", f"no API requests scraped in the last {WINDOW}")
        return
    for job, ratio in sorted(ratios.items()):
        name = f"5xx ratio {job}"
        if math.isnan(ratio):  # no request in the window: 0/0
            report.add(name, "ok", f"no requests in the last {WINDOW}", ratio=None)
            continue
        status: Status = "ok"
        detail = f"{ratio:.2%} of requests answered 5xx over the last {WINDOW}"
        if ratio > ERROR_ALERT:
            status, detail = "fail", detail + f" (HighErrorRate above {ERROR_ALERT:.0%})"
        elif ratio > ERROR_OBJECTIVE:
            status, detail = "warn", detail + f" (objective {ERROR_OBJECTIVE:.1%})"
        report.add(name, status, detail, ratio=ratio)


def _judge_latencies(report: Report, latencies: dict[str, float]) -> None:
    if not latencies:
        report.add("latency p95", "ok", f"no API requests scraped in the last {WINDOW}")
        return
    for job, seconds in sorted(latencies.items()):
        name = f"latency p95 {job}"
        if math.isnan(seconds):
            report.add(name, "ok", f"no requests in the last {WINDOW}", seconds=None)
            continue
        status: Status = "ok"
        detail = f"p95 {seconds * 1000:.0f} ms over the last {WINDOW}"
        if math.isinf(seconds):  # above the histogram's largest finite bucket
            detail = f"p95 above the largest histogram bucket over the last {WINDOW}"
        if seconds > LATENCY_ALERT_S:
            status, detail = "fail", detail + f" (HighResponseTime above {LATENCY_ALERT_S:.0f} s)"
        elif seconds > LATENCY_OBJECTIVE_S:
            objective = LATENCY_OBJECTIVE_S * 1000
            status, detail = "warn", detail + f" (objective {objective:.0f} ms)"
        report.add(name, status, detail, seconds=None if math.isinf(seconds) else seconds)
