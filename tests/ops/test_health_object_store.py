"""`synthdata ops health-check`'s "object_store" row: the artifact store the settings
name, probed through `open_store` (a probe object written, read back and deleted),
with the backend and `describe()` in the row and never a credential.

Real stores only: a LocalStore in the test's directory, the session's SeaweedFS
(tests/fixtures/objectstore.py) and, for an unreachable store, an S3 endpoint on a
loopback port nobody listens on, and one that accepts connections and never answers.
"""

from __future__ import annotations

import json
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import REGISTRY

from synthdata.artifacts import open_backend
from synthdata.ops.health_store import check_object_store
from synthdata.ops.report import Report
from synthdata.service.core.settings import Settings
from tests.fixtures.objectstore import ACCESS_KEY, SECRET_KEY, S3Server, s3_server  # noqa: F401
from tests.fixtures.ops import base_test_env, closed_url, ops

# Distinctive, so that a leak anywhere in the output is found by a substring search.
LEAKY_KEY_ID = "AKIAHEALTHCHECKLEAK1"
LEAKY_SECRET = "health-check-secret-that-must-not-leak"


def _settings(tmp_path: Path, **values: Any) -> Settings:
    return Settings(  # type: ignore[call-arg]
        _env_file=None, environment="test", home=tmp_path / "home", **values
    )


def _row(report: Report) -> dict[str, Any]:
    (row,) = [f for f in report.findings if f.name == "object_store"]
    return {"status": row.status, "detail": row.detail, "data": row.data}


def _up(backend: str) -> float | None:
    return REGISTRY.get_sample_value("synthdata_store_up", {"backend": backend})


@pytest.fixture
def silent_server() -> Iterator[str]:
    """An endpoint that accepts TCP connections and never answers a request."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"


def test_the_local_store_is_probed_and_left_clean(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    settings = _settings(tmp_path, data_dir=data_dir)
    report = Report("health-check")
    check_object_store(report, settings)
    row = _row(report)
    assert row["status"] == "ok", row
    assert row["data"]["backend"] == "local"
    assert str(data_dir) in row["data"]["store"] and row["data"]["store"] in row["detail"]
    # Through open_store: the metrics wrapper recorded the probe.
    assert _up("local") == 1
    # The probe object was deleted again.
    leftovers = [p for p in data_dir.rglob("*") if p.is_file()] if data_dir.exists() else []
    assert leftovers == []


def test_an_s3_endpoint_on_a_closed_port_fails_without_showing_the_key(tmp_path: Path) -> None:
    endpoint = closed_url()
    settings = _settings(
        tmp_path,
        store="s3",
        s3_endpoint=endpoint,
        s3_bucket="synthdata-artifacts",
        s3_prefix="production",
        s3_access_key_id=LEAKY_KEY_ID,
        s3_secret_access_key=LEAKY_SECRET,
    )
    report = Report("health-check")
    check_object_store(report, settings)
    row = _row(report)
    assert row["status"] == "fail", row
    assert row["data"]["backend"] == "s3"
    assert "s3://synthdata-artifacts/production" in row["detail"]
    assert endpoint in row["detail"]
    assert _up("s3") == 0
    shown = json.dumps(row)
    assert LEAKY_KEY_ID not in shown and LEAKY_SECRET not in shown


def test_a_store_that_never_answers_is_reported_at_the_deadline(
    tmp_path: Path, silent_server: str
) -> None:
    settings = _settings(
        tmp_path,
        store="s3",
        s3_endpoint=silent_server,
        s3_bucket="synthdata-artifacts",
        s3_access_key_id=LEAKY_KEY_ID,
        s3_secret_access_key=LEAKY_SECRET,
    )
    report = Report("health-check")
    check_object_store(report, settings, timeout=0.5)
    row = _row(report)
    assert row["status"] == "fail", row
    assert "no answer within 0.5 s" in row["detail"]
    assert silent_server in row["detail"]


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_health_check_reaches_the_real_s3_server_and_refuses_a_closed_port(
    tmp_path: Path,
    s3_server: S3Server,  # noqa: F811
) -> None:
    """The command an operator runs, as its own process, configured by environment."""
    prefix = f"health-{uuid.uuid4().hex[:8]}"
    env = base_test_env(tmp_path, SYNTHDATA_API_URL=closed_url(), **s3_server.env(prefix))
    run = ops(env, "health-check", "--json")
    row = run.finding("object_store")
    assert row["status"] == "ok", row
    assert row["data"]["backend"] == "s3"
    assert row["data"]["store"] == f"s3://{s3_server.bucket}/{prefix} at {s3_server.endpoint}"
    assert SECRET_KEY not in run.stdout + run.stderr
    assert ACCESS_KEY not in run.stdout + run.stderr
    # The probe leaves nothing behind in the bucket.
    assert list(open_backend(s3_server.config(prefix=prefix)).list("")) == []

    env.update(SYNTHDATA_S3_ENDPOINT=closed_url())
    down = ops(env, "health-check", "--json")
    assert down.code == 1
    assert down.finding("object_store")["status"] == "fail"
    assert SECRET_KEY not in down.stdout + down.stderr
