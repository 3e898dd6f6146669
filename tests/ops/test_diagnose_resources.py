"""`check-resources` (runbook: `./scripts/check-resources.sh --detailed`): host figures from
psutil, PostgreSQL/SQLite size, Redis memory, the Huey queue, the busiest processes, and
through a real Prometheus the figures of a real node_exporter and of a local stand-in for
the kubelet's container metrics (cAdvisor and kube-state-metrics)."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import sessionmaker

from synthdata.ops.diagnose import QUEUE_BACKLOG
from synthdata.service.core.settings import Settings
from tests.databases import scratch_postgres
from tests.fixtures.ops import (  # noqa: F401  (the fixtures)
    Receiver,
    Run,
    assert_clean_exit,
    base_test_env,
    closed_url,
    ops,
    receiver,
    script,
    wait_until,
)
from tests.fixtures.processes import (  # noqa: F401  (the fixtures)
    Proc,
    Prometheus,
    node_exporter,
    processes,
    prometheus_factory,
    redis_db,
    wait_http,
    worker,
)

pytestmark = pytest.mark.slow

# What the host's own load may push over a threshold while the tests run (the machine is
# shared): such a finding must be consistent with its figure, and then means exit 1.
HOST_LOAD = ("host cpu", "host memory", "prometheus node cpu", "prometheus node memory")


def container_metrics(start: Callable[..., Receiver], *, memory_ratio: float) -> Receiver:
    """A stand-in for cAdvisor + kube-state-metrics: synthdata-api-0 uses 0.25 of its 0.5
    core limit (a counter growing with the clock) and `memory_ratio` of its 1 GB limit."""
    started = time.time()
    pod = 'namespace="synthdata",pod="synthdata-api-0",container="synthdata-api"'

    def exposition(_: Any) -> tuple[int, str]:
        cpu_seconds = (time.time() - started) * 0.25
        return 200, (
            "# TYPE container_cpu_usage_seconds_total counter\n"
            f'container_cpu_usage_seconds_total{{{pod},cpu="total"}} {cpu_seconds:.3f}\n'
            "# TYPE kube_pod_container_resource_limits gauge\n"
            f'kube_pod_container_resource_limits{{{pod},resource="cpu",unit="core"}} 0.5\n'
            "# TYPE container_memory_working_set_bytes gauge\n"
            f"container_memory_working_set_bytes{{{pod}}} {int(memory_ratio * 1e9)}\n"
            "# TYPE container_spec_memory_limit_bytes gauge\n"
            f"container_spec_memory_limit_bytes{{{pod}}} 1000000000\n"
        )

    return start({("GET", "/metrics"): exposition})


def _has_data(prometheus: Prometheus, expr: str) -> bool:
    return bool(prometheus.query(expr))


def _assert_healthy_apart_from_host_load(run: Run) -> None:
    problems = {n: s for n, s in run.statuses().items() if s not in ("ok", "info")}
    for name in problems:
        assert name.startswith(HOST_LOAD), f"{name}: {problems}\n{run.stdout}"
        finding = run.finding(name)
        assert finding["data"]["used_ratio"] > finding["data"]["threshold"]
    assert_clean_exit(run, 1 if problems else 0)


@pytest.mark.timeout(300)
def test_resources_within_limits(
    tmp_path: Path,
    processes: Callable[..., Proc],  # noqa: F811
    worker: Callable[..., Proc],  # noqa: F811
    redis_db: str,  # noqa: F811
    prometheus_factory: Callable[..., Prometheus],  # noqa: F811
    receiver: Callable[..., Receiver],  # noqa: F811
) -> None:
    with scratch_postgres(f"synthdata_res_{secrets.token_hex(4)}") as database_url:
        env = base_test_env(
            tmp_path,
            SYNTHDATA_DATABASE_URL=database_url,
            SYNTHDATA_QUEUE="redis",
            SYNTHDATA_REDIS_URL=redis_db,
        )
        consumer = worker(env)
        node = node_exporter(processes)
        kubelet = container_metrics(receiver, memory_ratio=0.5)
        prometheus = prometheus_factory(
            {
                "node": [node.url.removeprefix("http://")],
                "kubelet": [kubelet.url.removeprefix("http://")],
            }
        )
        wait_until(
            lambda: (
                _has_data(prometheus, "rate(container_cpu_usage_seconds_total[5m])")
                and _has_data(prometheus, "rate(node_cpu_seconds_total[5m])")
            ),
            what="two scrapes of each target",
        )
        env["SYNTHDATA_PROMETHEUS_URL"] = prometheus.url

        table = script("check-resources.sh", env, "--detailed")
        assert_clean_exit(table, 1 if "│ warn " in table.stdout else 0)  # warn: the host's load
        for row in ("host cpu", "host memory", "disk (data_dir)", "database size", "queue"):
            assert f"│ {row} " in table.stdout, table.stdout
        assert f"synthdata process {consumer.popen.pid}" in table.stdout
        assert "prometheus container memory / limit" in table.stdout

        run = ops(env, "check-resources", "--detailed", "--json")
        _assert_healthy_apart_from_host_load(run)
        names = [f["name"] for f in run.findings()]
        # synthdata's processes come before the rest.
        assert names.index(f"synthdata process {consumer.popen.pid}") < min(
            i for i, n in enumerate(names) if n.startswith("top ")
        )
        assert "postgresql" in run.finding("database size")["detail"]
        assert run.finding("database size")["data"]["bytes"] > 1_000_000
        assert run.finding("redis")["status"] == "ok"
        assert run.finding("redis memory")["data"]["bytes"] > 0
        assert run.finding("queue")["data"]["length"] == 0
        pod = "namespace=synthdata pod=synthdata-api-0 container=synthdata-api"
        cpu = run.finding(f"prometheus container cpu / limit {pod}")
        # A 5m rate over the few seconds scraped so far reads below the 0.25/0.5 in use.
        assert cpu["status"] == "ok" and 0 < cpu["data"]["used_ratio"] <= 0.55
        memory = run.finding(f"prometheus container memory / limit {pod}")
        assert memory["status"] == "ok" and memory["data"]["used_ratio"] == 0.5
        assert run.findings("prometheus node memory instance=127.0.0.1")
        assert run.findings("prometheus node cpu instance=127.0.0.1")
        consumer.stop()


@pytest.mark.timeout(300)
def test_backlog_and_memory_pressure_are_flagged(
    tmp_path: Path,
    prometheus_factory: Callable[..., Prometheus],  # noqa: F811
    receiver: Callable[..., Receiver],  # noqa: F811
) -> None:
    from synthdata.jobs.queue import JobQueue
    from synthdata.service.core.migrate import upgrade_head

    env = base_test_env(tmp_path)
    upgrade_head(env["SYNTHDATA_DATABASE_URL"])
    settings = Settings(
        database_url=env["SYNTHDATA_DATABASE_URL"], data_dir=Path(env["SYNTHDATA_DATA_DIR"])
    )
    queue = JobQueue(settings)
    # One more queued job than the alert allows, each with its message; nobody consumes.
    job_ids = _queued_jobs(settings, QUEUE_BACKLOG + 1)
    for job_id in job_ids:
        queue.send_prepare(job_id)
    kubelet = container_metrics(receiver, memory_ratio=0.9)
    prometheus = prometheus_factory({"kubelet": [kubelet.url.removeprefix("http://")]})
    wait_until(lambda: _has_data(prometheus, "container_memory_working_set_bytes"), what="a scrape")
    env["SYNTHDATA_PROMETHEUS_URL"] = prometheus.url

    run = ops(env, "check-resources", "--detailed", "--json")
    assert_clean_exit(run, 1)
    backlog = run.finding("queue")
    assert backlog["status"] == "warn" and backlog["data"]["length"] == QUEUE_BACKLOG + 1
    assert backlog["data"]["jobs_queued"] == QUEUE_BACKLOG + 1
    assert f"backlog alert above {QUEUE_BACKLOG}" in backlog["detail"]
    pod = "namespace=synthdata pod=synthdata-api-0 container=synthdata-api"
    memory = run.finding(f"prometheus container memory / limit {pod}")
    assert memory["status"] == "warn" and memory["data"]["used_ratio"] == 0.9
    assert "sqlite" in run.finding("database size")["detail"]
    assert run.finding("prometheus node memory")["status"] == "info"  # no node_exporter here
    assert run.finding("redis")["status"] == "info"

    # Redis and Prometheus cannot be reached: exit 3 (1 if the host itself is busy).
    _end_jobs(settings)  # the backlog is gone: nothing but the outages is left to find
    empty = tmp_path / "empty-data"
    JobQueue(settings.model_copy(update={"data_dir": empty})).pending()  # an empty queue
    down_env = {
        **env,
        "SYNTHDATA_DATA_DIR": str(empty),
        "SYNTHDATA_REDIS_URL": f"redis://127.0.0.1:{closed_url().rsplit(':', 1)[1]}/0",
        "SYNTHDATA_PROMETHEUS_URL": closed_url(),
    }
    down = ops(down_env, "check-resources", "--detailed", "--json")
    assert down.finding("redis")["status"] == "unreachable"
    assert down.finding("prometheus")["status"] == "unreachable"
    assert down_env["SYNTHDATA_PROMETHEUS_URL"] in down.finding("prometheus")["detail"]
    busy = [n for n, s in down.statuses().items() if s == "warn"]
    assert all(n.startswith(HOST_LOAD) for n in busy), down.statuses()
    assert_clean_exit(down, 1 if busy else 3)


def _queued_jobs(settings: Settings, count: int) -> list[str]:
    """`count` generation jobs in the queued state (rows only, no files)."""
    from synthdata.jobs.models import Job
    from synthdata.service.core.db import make_engine, session_scope
    from synthdata.service.customers.models import Customer

    engine = make_engine(settings.database_url)
    try:
        with session_scope(sessionmaker(engine)) as session:
            customer = Customer(name="Backlog")
            session.add(customer)
            session.flush()
            jobs = [Job(customer_id=customer.id, rows=10, seed=1) for _ in range(count)]
            session.add_all(jobs)
            session.flush()
            return [job.id for job in jobs]
    finally:
        engine.dispose()


def _end_jobs(settings: Settings) -> None:
    from sqlalchemy import update

    from synthdata.jobs.models import Job
    from synthdata.service.core.db import make_engine, session_scope

    engine = make_engine(settings.database_url)
    try:
        with session_scope(sessionmaker(engine)) as session:
            session.execute(update(Job).values(state="cancelled"))
    finally:
        engine.dispose()


def test_a_running_jobs_chunk_messages_are_not_a_backlog(tmp_path: Path) -> None:
    """GenerationQueueBacklog counts queued jobs; the check agrees with it, not with the
    message count (one big running job is hundreds of chunk messages)."""
    from synthdata.jobs.queue import JobQueue
    from synthdata.service.core.migrate import upgrade_head

    env = base_test_env(tmp_path)
    upgrade_head(env["SYNTHDATA_DATABASE_URL"])
    settings = Settings(
        database_url=env["SYNTHDATA_DATABASE_URL"], data_dir=Path(env["SYNTHDATA_DATA_DIR"])
    )
    (job_id,) = _queued_jobs(settings, 1)
    queue = JobQueue(settings)
    for index in range(3 * QUEUE_BACKLOG):
        queue.send_chunk(job_id, index)
    run = ops(env, "check-resources", "--json")
    queue_finding = run.finding("queue")
    assert queue_finding["data"]["length"] == 3 * QUEUE_BACKLOG
    assert queue_finding["data"]["jobs_queued"] == 1
    assert queue_finding["status"] == "ok", queue_finding
