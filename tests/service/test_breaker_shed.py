"""The circuit breaker's 503s are load shed on purpose, not errors: counted apart in
`synthdata_http_requests_shed_total` (the error-ratio rules subtract it; promtool cases in
monitoring/prometheus/rules/availability_shed_tests.yml) and logged as a WARNING. A
real 503 (the fault switch) stays an ERROR and is not counted as shed.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from synthdata.observability import metrics
from synthdata.observability.http import metrics_payload
from synthdata.observability.logging import configure_logging
from synthdata.observability.request_tally import fold_all
from synthdata.service import observe
from synthdata.service.app import create_app
from synthdata.service.core import faults
from synthdata.service.core.settings import Settings

BREAKER = "/api/v1/admin/circuit-breakers/synthdata-api"
JOBS = "/api/v1/jobs"


def _access_lines(stream: io.StringIO) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in stream.getvalue().splitlines() if line.startswith("{")]
    return [line for line in lines if line.get("message") == "request"]


SHED_SERIES = re.compile(
    r'^synthdata_http_requests_shed_total\{endpoint="/api/v1/jobs",method="POST",'
    r'reason="circuit_breaker"\} ([0-9.e+]+)$',
    re.MULTILINE,
)


def _shed_count() -> float:
    """The breaker's shed requests on POST /api/v1/jobs, as /metrics exposes them."""
    fold_all()
    found = SHED_SERIES.search(metrics_payload().decode())
    return float(found.group(1)) if found else 0.0


def test_breaker_503s_are_shed_load_and_real_503s_are_errors(
    settings_for: Callable[..., Settings], admin: Any, alice: Any
) -> None:
    stream = io.StringIO()
    configure_logging(stream=stream)
    served_503 = metrics.http_requests_total.labels("POST", JOBS, "503")
    app = create_app(
        settings_for(fault_injection=True), workers=0, hooks=[faults.install, observe.install]
    )
    with TestClient(app) as client:
        fold_all()
        shed_before, served_before = _shed_count(), served_503._value.get()
        on = client.put(BREAKER, headers=admin.headers, json={"enabled": True, "reason": "x"})
        assert on.status_code == 200, on.text
        body = {"dataset_id": "ds_missing", "rows": 5}
        refused = [client.post(JOBS, headers=alice.headers, json=body) for _ in range(3)]
        assert [r.status_code for r in refused] == [503, 503, 503]
        faulty = client.post(JOBS, headers={**alice.headers, "X-Synthdata-Fault": "503"}, json=body)
        assert faulty.status_code == 503
        fold_all()
        shed_after, served_after = _shed_count(), served_503._value.get()
    lines = [a for a in _access_lines(stream) if a["http.response.status_code"] == 503]
    assert [(a["level"], a.get("load_shed")) for a in lines] == [
        ("WARNING", "circuit_breaker"),
        ("WARNING", "circuit_breaker"),
        ("WARNING", "circuit_breaker"),
        ("ERROR", None),
    ]
    assert served_after - served_before == 4  # every 503 is still a served request
    assert shed_after - shed_before == 3  # the breaker's, not the injected fault's
