"""The incident webhook's 503 while no token is configured is a deliberate refusal, not a
failure: it is counted in `synthdata_http_requests_shed_total`, which the error-ratio
rules subtract from the 5xx (monitoring/prometheus/rules/availability.yml), so
Alertmanager retrying an unconfigured webhook does not fire the API's error alerts.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from fastapi.testclient import TestClient
from tests.service.alertmanager_payloads import alert, group_key, notification

from synthdata.observability.http import metrics_payload
from synthdata.observability.request_tally import fold_all
from synthdata.service import observe
from synthdata.service.app import create_app
from synthdata.service.core.settings import Settings

WEBHOOK = "/api/v1/alerts/webhook"


def _series(name: str, labels: str) -> float:
    """One series of /metrics (0 while it was never counted)."""
    fold_all()
    found = re.search(
        rf"^{name}\{{{re.escape(labels)}\}} ([0-9.e+]+)$", metrics_payload().decode(), re.M
    )
    return float(found.group(1)) if found else 0.0


def _served_503() -> float:
    return _series("http_requests_total", f'endpoint="{WEBHOOK}",method="POST",status="503"')


def _shed() -> float:
    return _series(
        "synthdata_http_requests_shed_total",
        f'endpoint="{WEBHOOK}",method="POST",reason="not_configured"',
    )


def test_unconfigured_webhook_503s_are_shed_not_errors(
    settings_for: Callable[..., Settings],
) -> None:
    app = create_app(
        settings_for(alert_webhook_token="", escalation_check_seconds=3600),
        workers=0,
        hooks=[observe.install],
    )
    body = notification(group_key("APIDown"), alert("APIDown", "critical"))
    with TestClient(app) as client:
        served_before, shed_before = _served_503(), _shed()
        answers = [
            client.post(WEBHOOK, json=body, headers={"Authorization": "Bearer x"}).status_code
            for _ in range(2)
        ]
        served, shed = _served_503() - served_before, _shed() - shed_before
    assert answers == [503, 503]
    assert served == 2  # still served requests ...
    assert shed == 2  # ... every one shed on purpose
    # What the error-ratio rules count as 5xx errors: served 5xx less the shed ones.
    assert served - shed == 0
