"""`health-check` (runbook "Alert Investigation": `./scripts/health-check.sh --comprehensive`)
against a real service, PostgreSQL or SQLite, Redis, Prometheus and Alertmanager, with local
receivers for Grafana, Elasticsearch and Fluent Bit."""

from __future__ import annotations

import secrets
import shutil
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from synthdata.service.core.db import make_engine, make_session_factory, session_scope, utcnow
from tests.databases import scratch_postgres
from tests.fixtures.logs import elasticsearch, fresh_document
from tests.fixtures.ops import (  # noqa: F401  (the fixtures)
    Receiver,
    alertmanager,
    assert_clean_exit,
    base_test_env,
    closed_url,
    fluent_bit,
    grafana,
    ops,
    receiver,
    script,
    targets_health,
    wait_until,
)
from tests.fixtures.processes import (  # noqa: F401  (the fixtures)
    Proc,
    Prometheus,
    processes,
    prometheus_factory,
    redis_db,
    serve,
    worker,
)

pytestmark = pytest.mark.slow


def _host(proc: Proc) -> str:
    return proc.url.removeprefix("http://")


@pytest.mark.timeout(300)
def test_a_healthy_platform_passes_every_check(
    tmp_path: Path,
    serve: Callable[..., Proc],  # noqa: F811
    worker: Callable[..., Proc],  # noqa: F811
    redis_db: str,  # noqa: F811
    prometheus_factory: Callable[..., Prometheus],  # noqa: F811
    alertmanager: str,  # noqa: F811
    receiver: Callable[..., Receiver],  # noqa: F811
) -> None:
    with scratch_postgres(f"synthdata_health_{secrets.token_hex(4)}") as database_url:
        env = base_test_env(
            tmp_path,
            SYNTHDATA_DATABASE_URL=database_url,
            SYNTHDATA_QUEUE="redis",
            SYNTHDATA_REDIS_URL=redis_db,
            SYNTHDATA_LOG_FILE=str(tmp_path / "service.log"),
        )
        api = serve(env, 1)
        consumer = worker(env)
        prometheus = prometheus_factory(
            {"synthdata-api": [_host(api)], "synthdata-worker": [_host(consumer)]}
        )
        wait_until(
            lambda: (
                targets_health(prometheus.url) == {"synthdata-api": "up", "synthdata-worker": "up"}
            ),
            what="both targets scraped",
        )
        logs = elasticsearch(receiver, [fresh_document()])
        shipper = fluent_bit(receiver)
        dashboards = grafana(receiver)
        env.update(
            SYNTHDATA_API_URL=api.url,
            SYNTHDATA_PROMETHEUS_URL=prometheus.url,
            SYNTHDATA_ALERTMANAGER_URL=alertmanager,
            SYNTHDATA_GRAFANA_URL=dashboards.url,
            SYNTHDATA_ELASTICSEARCH_URL=logs.url,
            SYNTHDATA_FLUENT_BIT_URL=shipper.url,
        )

        # The runbook's line, as written.
        table = script("health-check.sh", env, "--comprehensive")
        assert_clean_exit(table, 0)
        for row in ("service", "database", "queue", "redis", "storage", "object_store", "workers"):
            assert f"│ {row} " in table.stdout, table.stdout
        assert "2 of 2 target(s) up" in table.stdout
        assert "version 11.1.0, database ok" in table.stdout

        run = ops(env, "health-check", "--comprehensive", "--json")
        assert_clean_exit(run, 0)
        assert set(run.statuses().values()) == {"ok"}, run.statuses()
        assert run.finding("service")["data"]["checks"] == {
            "database": "ok",
            "queue": "ok",
            "storage": "ok",
        }
        assert "postgresql" in run.finding("database")["detail"]
        assert "redis queue" in run.finding("queue")["detail"]
        assert "PING answered" in run.finding("redis")["detail"]
        assert run.finding("workers")["data"]["queued"] == 0
        assert run.finding("log pipeline: elasticsearch")["data"]["color"] == "green"
        assert run.finding("log pipeline: fluent-bit output es.0")["data"]["proc_records"] == 1500
        # What the stand-ins were asked.
        assert dashboards.got("GET", "/api/health")
        assert shipper.got("GET", "/api/v1/health") and shipper.got("GET", "/api/v1/metrics")
        (newest,) = logs.got("POST", "/synthdata-logs/_search")[-1:]
        assert newest.json()["sort"] == [{"@timestamp": {"order": "desc"}}]

        # Parts that cannot be reached: exit 3, each named with its URL, no traceback.
        gone_api, gone_alertmanager = closed_url(), closed_url()
        env.update(SYNTHDATA_ALERTMANAGER_URL=gone_alertmanager)
        down = ops(env, "health-check", "--comprehensive", "--json", "--url", gone_api)
        assert_clean_exit(down, 3)
        assert down.finding("service")["status"] == "unreachable"
        assert gone_api in down.finding("service")["detail"]
        assert down.finding("alertmanager")["status"] == "unreachable"
        assert gone_alertmanager in down.finding("alertmanager")["detail"]
        assert down.finding("database")["status"] == "ok"
        api.stop()
        consumer.stop()


def _queue_a_job(database_url: str, waited: timedelta) -> str:
    """A generation job that has been waiting for `waited`, as if no worker ran."""
    from synthdata.jobs.models import Job
    from synthdata.service.customers.models import Customer

    engine = make_engine(database_url)
    try:
        with session_scope(make_session_factory(engine)) as session:
            customer = Customer(name="Stalled Ltd")
            session.add(customer)
            session.flush()
            since = utcnow() - waited
            job = Job(customer_id=customer.id, seed=1, rows=10, created_at=since, enqueued_at=since)
            session.add(job)
            session.flush()
            return job.id
    finally:
        engine.dispose()


@pytest.mark.timeout(300)
def test_broken_parts_are_named(
    tmp_path: Path,
    serve: Callable[..., Proc],  # noqa: F811
    prometheus_factory: Callable[..., Prometheus],  # noqa: F811
    alertmanager: str,  # noqa: F811
) -> None:
    env = base_test_env(tmp_path)
    api = serve(env, 1, "--job-threads", "0")  # nothing consumes: queued jobs stay queued
    job_id = _queue_a_job(env["SYNTHDATA_DATABASE_URL"], timedelta(minutes=20))
    gone = closed_url().removeprefix("http://")
    prometheus = prometheus_factory({"synthdata-api": [_host(api)], "gone": [gone]})
    wait_until(lambda: targets_health(prometheus.url).get("gone") == "down", what="gone down")
    data_dir = Path(env["SYNTHDATA_DATA_DIR"])
    shutil.rmtree(data_dir)
    data_dir.write_text("a file where the data directory should be\n")
    env.update(
        SYNTHDATA_API_URL=api.url,
        SYNTHDATA_PROMETHEUS_URL=prometheus.url,
        SYNTHDATA_ALERTMANAGER_URL=alertmanager,
    )

    run = ops(env, "health-check", "--comprehensive", "--json")
    assert_clean_exit(run, 1)
    service = run.finding("service")
    assert service["status"] == "fail"
    assert "storage" in service["detail"] and service["data"]["checks"]["storage"] != "ok"
    assert run.finding("storage")["status"] == "fail"
    assert run.finding("queue")["status"] == "fail"
    workers = run.finding("workers")
    assert workers["status"] == "fail" and "no worker picked a job up" in workers["detail"]
    assert workers["data"]["queued"] == 1 and job_id
    target = run.finding(f"prometheus target gone {gone}")
    assert target["status"] == "warn" and "down" in target["detail"]
    assert run.finding("prometheus targets")["detail"] == "1 of 2 target(s) up"
    assert run.finding("alertmanager")["status"] == "ok"
    assert run.finding("database")["status"] == "ok"
    # Without --comprehensive the monitoring stack is not looked at.
    basic = ops(env, "health-check", "--json")
    assert_clean_exit(basic, 1)
    assert not [name for name in basic.statuses() if name.startswith(("prometheus", "alert"))]
