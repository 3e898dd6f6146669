"""The compressed flows: one fault each, timed to its notification (CI's test runs them).

Each runs against a started AlertStack (benchmarks/alert_stack.py), whose durations are
divided by TIME_SCALE, and returns the notification it waited for with the time from
the moment the fault started:

- database: the PostgreSQL proxy drops its connections and resets new ones, so the
  real postgres_exporter reports `pg_up 0` -> DatabaseConnectionFailure -> PagerDuty
  (critical); then the proxy forwards again;
- error rate: injected 500s (`X-Synthdata-Fault: 500`) on half the requests to a
  user route -> HighErrorRate -> PagerDuty; then the faults stop -> the resolve event;
- brute force: a burst of unknown API keys -> BruteForceAttack -> the security
  team's Slack channel (team="security").
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from benchmarks.alert_config import TIME_SCALE, alert_for_seconds, names_in
from benchmarks.alert_load import traffic
from benchmarks.alert_stack import AlertStack

FAULT = "X-Synthdata-Fault"
BAD_KEY = "sk_not_a_key_of_ours_0000000000000000"
USER_ROUTE = "/"
# Many connections, as a real attacker uses: once the source is locked out, the
# service holds each 429 for a while (its tarpit), which slows one connection only.
BRUTE_FORCE_PER_SECOND = 25.0
BRUTE_FORCE_CONNECTIONS = 32


def compressed_for(alertname: str) -> str:
    """The alert's shipped `for:` as the compressed stack runs it."""
    return f"{max(1, round(alert_for_seconds(alertname) / TIME_SCALE))}s"


def _pd(alertname: str, action: str) -> Callable[[dict[str, Any]], bool]:
    """A PagerDuty event of `action` whose summary names `alertname`: alone ("Name -
    summary") or among the alerts of a group of one cause ("service: A, Name")."""
    return lambda body: (
        body.get("event_action") == action
        and alertname in names_in(body["payload"]["summary"], [alertname])
    )


def flow_database(stack: AlertStack, timeout: float = 40.0) -> dict[str, Any]:
    """PostgreSQL goes away under postgres_exporter (its proxy drops and resets every
    connection) -> pg_up 0 -> DatabaseConnectionFailure -> PagerDuty; then it comes back."""
    proxy = stack.pg_proxy
    assert proxy is not None, "the stack is not started"
    proxy.up()
    stack.wait_query('pg_up{job="postgres-exporter"} == 1', present=True)
    stack.wait_query('ALERTS{alertname="DatabaseConnectionFailure"}', present=False)
    start = time.monotonic()
    proxy.down()
    try:
        page = stack.receiver.first(
            "/pagerduty", _pd("DatabaseConnectionFailure", "trigger"), after=start, timeout=timeout
        )
        # What caused it: the exporter is alive (scraped, up 1) and says pg_up 0.
        exporter_pg_up = stack.exporter_sample("postgres-exporter", "pg_up")
        scrape_up = [float(r["value"][1]) for r in stack.query('up{job="postgres-exporter"}')]
    finally:
        proxy.up()
    return {
        "flow": "database",
        "alert": "DatabaseConnectionFailure",
        "receiver": "pagerduty",
        "for": compressed_for("DatabaseConnectionFailure"),
        "fire_s": page["t"] - start,
        "exporter_pg_up": exporter_pg_up,
        "scrape_up": scrape_up,
        "page": page,
    }


def flow_error_rate(
    stack: AlertStack, timeout: float = 60.0, resolve_timeout: float = 240.0
) -> dict[str, Any]:
    """Half the requests get an injected 500 -> HighErrorRate -> PagerDuty; faults stop ->
    the resolve event. The error family pages as one group, which resolves when its
    last alert does: the fast-burn APIErrorBudgetBurn holds while its 30m window (1 min
    compressed) still holds the episode, hence the longer wait for the resolve."""
    faulting = threading.Event()
    flip = iter(range(10**9))

    def headers() -> dict[str, str]:
        return {FAULT: "500"} if faulting.is_set() and next(flip) % 2 == 0 else {}

    # A user route: the SLO ratios leave out probes and scrapes (/healthz, /readyz,
    # /metrics), so failing probes would not count. The front page needs no key.
    with traffic(stack.api_url, 8, headers, USER_ROUTE) as statuses:
        stack.wait_query('ALERTS{alertname="HighErrorRate"}', present=False)
        start = time.monotonic()
        faulting.set()
        page = stack.receiver.first(
            "/pagerduty", _pd("HighErrorRate", "trigger"), after=start, timeout=timeout
        )
        stopped = time.monotonic()
        faulting.clear()
        resolved = stack.receiver.first(
            "/pagerduty",
            lambda body: (
                body.get("event_action") == "resolve"
                and body.get("dedup_key") == page["body"]["dedup_key"]
            ),
            after=stopped,
            timeout=resolve_timeout,
        )
    return {
        "flow": "error_rate",
        "alert": "HighErrorRate",
        "receiver": "pagerduty",
        "for": compressed_for("HighErrorRate"),
        "fire_s": page["t"] - start,
        "resolve_s": resolved["t"] - stopped,
        "page": page,
        "resolved": resolved,
        "statuses": {str(s): statuses.count(s) for s in sorted(set(statuses))},
    }


def flow_brute_force(stack: AlertStack, timeout: float = 60.0) -> dict[str, Any]:
    """A burst of unknown API keys -> BruteForceAttack -> the security Slack channel."""
    stack.wait_query('ALERTS{alertname="BruteForceAttack"}', present=False, timeout=60)
    start = time.monotonic()
    with traffic(
        stack.api_url,
        BRUTE_FORCE_PER_SECOND,
        lambda: {"X-API-Key": BAD_KEY},
        "/api/v1/me",
        BRUTE_FORCE_CONNECTIONS,
    ) as statuses:
        message = stack.receiver.first(
            "/slack",
            lambda body: body["attachments"][0]["title"] == "Alert: BruteForceAttack",
            after=start,
            timeout=timeout,
        )
    return {
        "flow": "brute_force",
        "alert": "BruteForceAttack",
        "receiver": "slack",
        "for": compressed_for("BruteForceAttack"),
        "fire_s": message["t"] - start,
        "message": message,
        "statuses": {str(s): statuses.count(s) for s in sorted(set(statuses))},
    }


FLOWS = (flow_database, flow_error_rate, flow_brute_force)
