"""Circuit breaker (API and CLI), rate limits per key and per source, bad-key lockout."""

from __future__ import annotations

import pytest
import typer
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from synthdata.cli.ops import ops_app
from synthdata.service.app import create_app
from synthdata.service.core.ratelimit import MemoryCounter, RateLimiter, RedisCounter

BREAKER = "/api/v1/admin/circuit-breakers/synthdata-api"


def _job(client, caller, dataset_id):
    return client.post(
        "/api/v1/jobs", headers=caller.headers, json={"dataset_id": dataset_id, "rows": 5}
    )


def test_breaker_refuses_new_jobs_but_reads_work(client, admin, alice, upload):
    dataset = upload(alice)
    assert client.get(BREAKER, headers=admin.headers).json()["enabled"] is False
    on = client.put(
        BREAKER,
        headers=admin.headers,
        json={"enabled": True, "reason": "db failover", "retry_after": 120},
    )
    assert on.status_code == 200 and on.json()["enabled"] is True
    refused = _job(client, alice, dataset["id"])
    assert refused.status_code == 503
    assert refused.headers["Retry-After"] == "120"
    assert "db failover" in refused.json()["detail"]
    training = client.post(
        "/api/v1/models", headers=alice.headers, json={"dataset_id": dataset["id"]}
    )
    assert training.status_code == 503
    assert client.get("/api/v1/jobs", headers=alice.headers).status_code == 200
    assert client.get(f"/api/v1/datasets/{dataset['id']}", headers=alice.headers).status_code == 200
    client.put(BREAKER, headers=admin.headers, json={"enabled": False})
    assert _job(client, alice, dataset["id"]).status_code == 202
    actions = [e["action"] for e in client.get("/api/v1/admin/audit", headers=admin.headers).json()]
    assert actions[:2] == ["circuit_breaker.disable", "circuit_breaker.enable"]


def test_unknown_service_breaker_is_422(client, admin):
    response = client.get("/api/v1/admin/circuit-breakers/nope", headers=admin.headers)
    assert response.status_code == 422


def _cli(monkeypatch, settings, *args):
    monkeypatch.setenv("SYNTHDATA_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("SYNTHDATA_DATA_DIR", str(settings.data_dir))
    app = typer.Typer()
    app.add_typer(ops_app, name="ops")
    return CliRunner().invoke(app, ["ops", *args])


def test_cli_breaker_is_seen_by_a_running_replica(client, alice, upload, settings, monkeypatch):
    dataset = upload(alice)
    result = _cli(
        monkeypatch,
        settings,
        "enable-circuit-breaker",
        "--service",
        "synthdata-api",
        "--retry-after",
        "30",
    )
    assert result.exit_code == 0, result.output
    assert "is on" in result.output
    refused = _job(client, alice, dataset["id"])
    assert refused.status_code == 503 and refused.headers["Retry-After"] == "30"
    status = _cli(monkeypatch, settings, "circuit-breaker-status")
    assert "synthdata-api: on" in status.output
    assert _cli(monkeypatch, settings, "disable-circuit-breaker").exit_code == 0
    assert _job(client, alice, dataset["id"]).status_code == 202
    wrong = _cli(monkeypatch, settings, "enable-circuit-breaker", "--service", "typo")
    assert wrong.exit_code == 2


def test_rate_limit_per_key(settings_for, alice, bob):
    with TestClient(create_app(settings_for(rate_limit_per_key=3), workers=0)) as client:
        statuses = [client.get("/api/v1/me", headers=alice.headers).status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        limited = client.get("/api/v1/me", headers=alice.headers)
        assert 1 <= int(limited.headers["Retry-After"]) <= 3600  # within the window
        assert limited.json()["type"] == "urn:synthdata:problem:rate-limited"
        assert client.get("/api/v1/me", headers=bob.headers).status_code == 200


def test_rate_limit_per_source(settings_for, alice, bob):
    with TestClient(create_app(settings_for(rate_limit_per_source=4), workers=0)) as client:
        statuses = [
            client.get("/api/v1/me", headers=caller.headers).status_code
            for caller in (alice, bob, alice, bob, alice)
        ]
        assert statuses == [200, 200, 200, 200, 429]


def test_lockout_after_repeated_bad_keys(settings_for, alice):
    settings = settings_for(auth_lockout_failures=3, auth_lockout_seconds=600)
    with TestClient(create_app(settings, workers=0)) as client:
        bad = {"X-API-Key": "sdk_wrong"}
        statuses = [client.get("/api/v1/me", headers=bad).status_code for _ in range(3)]
        assert statuses == [401, 401, 429]
        # Locked out: even a good key from this source is refused until the lock ends.
        locked = client.get("/api/v1/me", headers=alice.headers)
        assert locked.status_code == 429 and int(locked.headers["Retry-After"]) > 500


@pytest.mark.parametrize("backend", ["memory", "redis"])
def test_limiter_backends(backend, redis_url, redis_prefix):
    counter = MemoryCounter() if backend == "memory" else RedisCounter(redis_url, redis_prefix)
    limiter = RateLimiter(
        counter,
        window=3600,
        per_key=2,
        per_source=100,
        lockout_failures=2,
        lockout_window=60,
        lockout_seconds=30,
    )
    assert [limiter.check_key("k").allowed for _ in range(3)] == [True, True, False]
    assert limiter.record_failure("1.2.3.4").allowed
    assert not limiter.record_failure("1.2.3.4").allowed
    decision = limiter.check_source("1.2.3.4")
    assert not decision.allowed and 1 <= decision.retry_after <= 30
    assert limiter.check_source("5.6.7.8").allowed


def test_limiter_fails_open_when_redis_is_down():
    limiter = RateLimiter(
        RedisCounter("redis://127.0.0.1:1/0", "x"),
        window=60,
        per_key=1,
        per_source=1,
        lockout_failures=1,
        lockout_window=60,
        lockout_seconds=30,
    )
    assert all(limiter.check_key("k").allowed for _ in range(3))


def test_redis_limits_are_shared_by_replicas(settings_for, alice, redis_url, redis_prefix):
    settings = settings_for(
        rate_limit_per_key=3,
        rate_limit_backend="redis",
        redis_url=redis_url,
        rate_limit_prefix=redis_prefix,
    )
    with (
        TestClient(create_app(settings, workers=0)) as one,
        TestClient(create_app(settings, workers=0)) as two,
    ):
        statuses = [
            c.get("/api/v1/me", headers=alice.headers).status_code for c in (one, two, one, two)
        ]
    assert statuses == [200, 200, 200, 429]
