"""No API key, bearer token or database password ever reaches a log line or an error body."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from synthdata.observability.logging import configure_logging
from synthdata.service import observe
from synthdata.service.app import create_app
from synthdata.service.core.settings import Settings

PASSWORD = "hunter2-very-secret"


def test_keys_tokens_and_passwords_stay_out_of_logs_and_bodies(
    settings: Settings, make_caller: Callable[..., Any]
) -> None:
    stream = io.StringIO()
    configure_logging(stream=stream)
    alice = make_caller()
    wrong_key = alice.secret[:-4] + "zzzz"
    bodies: list[str] = []
    with TestClient(create_app(settings, hooks=[observe.install])) as client:
        for headers in (
            alice.headers,
            {"X-API-Key": wrong_key},
            {"Authorization": f"Bearer {alice.secret}"},
            {"Authorization": f"Bearer {wrong_key}"},
        ):
            bodies.append(client.get("/api/v1/datasets", headers=headers).text)
            bodies.append(client.get("/api/v1/admin/audit", headers=headers).text)
        bodies.append(client.get(f"/api/v1/jobs/{alice.secret}", headers=alice.headers).text)
    # A message that carries a DSN with a password, as a driver error would.
    from synthdata.observability.logging import get_logger

    get_logger("synthdata.service").error(
        "connection failed", detail=f"postgresql://app:{PASSWORD}@db:5432/prod"
    )
    logged = stream.getvalue()
    lines = [json.loads(line) for line in logged.splitlines()]
    assert any(line["message"] == "request" for line in lines)  # the access log was captured
    for secret in (alice.secret, wrong_key, PASSWORD):
        assert secret not in logged
        for body in bodies:
            assert secret not in body
