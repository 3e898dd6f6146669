"""One cause pages once (issue 14, item 5): the database (or the API) down is the page.

With the database down the API answers 503, so about a minute after
DatabaseConnectionFailure the API's error family (APIAvailabilityLow, HighErrorRate,
APIErrorBudgetBurn) fires too and, grouped apart, would page a second time. An
inhibit rule hides the family while the cause fires in the same cluster. Checked with
a real Alertmanager (`amtool config routes test` does not evaluate inhibition) and a
local receiver standing in for PagerDuty and the incident webhook.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

import pytest

from synthdata.service.incidents import policy
from tests.fixtures.alertmanager import (
    Receiver,
    alert_payload,
    alertmanager,  # noqa: F401  (the fixture)
    http_json,
    receiver,  # noqa: F401  (the fixture)
)

FAMILY = sorted(policy.CAUSE_GROUPS["api-errors"])
# The labels each alert carries in production: the exporter's job for the database,
# the API's job for the family (so `equal` cannot compare job or instance).
CAUSES = {
    "DatabaseConnectionFailure": ("synthdata-api", {"job": "postgres-exporter"}),
    "APIDown": ("synthdata-api", {"job": "synthdata-api"}),
    "RedisConnectionFailure": ("synthdata-worker", {"job": "redis-exporter"}),
}


def _episode(cause: str, cluster: str) -> list[dict[str, Any]]:
    service, labels = CAUSES[cause]
    return [
        alert_payload(cause, "critical", service, cluster=cluster, **labels),
        *(
            alert_payload(name, "critical", "synthdata-api", cluster=cluster, job="synthdata-api")
            for name in FAMILY
        ),
    ]


def _family_state(alertmanager_url: str, cluster: str) -> dict[str, str]:
    return {
        a["labels"]["alertname"]: a["status"]["state"]
        for a in http_json("GET", f"{alertmanager_url}/api/v2/alerts")
        if a["labels"]["cluster"] == cluster and a["labels"]["alertname"] in FAMILY
    }


def test_a_cause_hides_the_api_error_family_of_its_own_cluster_only(
    alertmanager: str,  # noqa: F811
) -> None:
    http_json(
        "POST", f"{alertmanager}/api/v2/alerts", _episode("DatabaseConnectionFailure", "db-a")
    )
    # Another deployment's 5xx while only db-a's database is down: its own page.
    http_json(
        "POST",
        f"{alertmanager}/api/v2/alerts",
        [alert_payload(name, "critical", "synthdata-api", cluster="db-b") for name in FAMILY],
    )
    assert _family_state(alertmanager, "db-a") == dict.fromkeys(FAMILY, "suppressed")
    assert _family_state(alertmanager, "db-b") == dict.fromkeys(FAMILY, "active")


def test_redis_down_is_not_the_cause_of_api_errors(alertmanager: str) -> None:  # noqa: F811
    """The API fails open without Redis: 5xx then have another cause, and page."""
    http_json("POST", f"{alertmanager}/api/v2/alerts", _episode("RedisConnectionFailure", "redis"))
    assert _family_state(alertmanager, "redis") == dict.fromkeys(FAMILY, "active")


@pytest.mark.slow
@pytest.mark.parametrize("cause", ["DatabaseConnectionFailure", "APIDown"])
def test_the_cause_and_its_symptoms_page_once(
    alertmanager: str,  # noqa: F811
    receiver: Receiver,  # noqa: F811
    cause: str,
) -> None:
    """Cause and family fire together: one notification, one PagerDuty page (waits for
    the 10 s group_wait and one more group_interval)."""
    cluster = f"down-{cause.lower()}"  # apart from the other tests' alerts
    http_json("POST", f"{alertmanager}/api/v2/alerts", _episode(cause, cluster))
    receiver.wait_for("/webhook", lambda b: b["commonLabels"].get("cluster") == cluster)
    time.sleep(12)  # past another group_interval: a family group would have flushed

    # Each critical notification goes to PagerDuty and to the incident webhook together,
    # and PagerDuty's dedup_key is the hash of the webhook's group key.
    hooks = [
        r["body"]
        for r in list(receiver.requests)
        if r["path"] == "/webhook" and r["body"]["commonLabels"].get("cluster") == cluster
    ]
    notified = [sorted(a["labels"]["alertname"] for a in hook["alerts"]) for hook in hooks]
    assert notified == [[cause]]
    keys = {hashlib.sha256(hook["groupKey"].encode()).hexdigest() for hook in hooks}
    pages = [
        r["body"]
        for r in list(receiver.requests)
        if r["path"] == "/pagerduty" and r["body"]["dedup_key"] in keys
    ]
    assert [page["payload"]["summary"].split(" - ")[0] for page in pages] == [cause]
