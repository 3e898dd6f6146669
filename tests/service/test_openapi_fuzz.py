"""Property-based requests from the OpenAPI spec (schemathesis): never a 5xx.

Every operation gets a bounded number of valid and invalid requests. The one
503 allowed is the circuit breaker's, which the fuzzer may switch on through
the admin API; any other status above 499 would be a bug. Error bodies must be
problem documents.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from synthdata.service.app import create_app
from synthdata.service.customers.models import Role

pytestmark = pytest.mark.slow
EXAMPLES = 6


def _check(response, case) -> None:
    body_type = ""
    content_type = (response.headers.get("content-type") or [""])[0]
    if content_type.startswith("application/problem+json"):
        body_type = response.json().get("type", "")
    breaker = response.status_code == 503 and body_type.endswith("circuit-breaker-open")
    where = f"{case.method} {case.formatted_path} -> {response.status_code}: {response.text[:300]}"
    assert response.status_code < 500 or breaker, where
    if response.status_code >= 400:
        assert body_type.startswith("urn:synthdata:problem:"), where


def test_no_server_errors(settings_for, make_caller):
    key = make_caller(Role.ADMIN, name="Fuzz").secret
    # With a webhook token set, Alertmanager's webhook answers the fuzzer's calls (which
    # carry no token) with 401; tests/service/test_incidents.py fuzzes it with the token.
    # Likewise PagerDuty's webhook with its signing secret (401 to unsigned calls, not 503).
    configured = settings_for(
        alert_webhook_token="fuzz-webhook-token", pagerduty_webhook_secret="fuzz-pd-secret"
    )
    app = create_app(configured, workers=0)
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(
                max_examples=EXAMPLES,
                deadline=None,
                derandomize=True,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            def run(case) -> None:
                response = case.call(headers={"X-API-Key": key})
                _check(response, case)

            try:
                run()
            except Unsatisfiable:
                # An operation with nothing to get wrong (e.g. GET /me) has no invalid input.
                assert mode == GenerationMode.NEGATIVE, operation.label
