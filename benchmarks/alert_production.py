"""The alerting pipeline as shipped: no duration shortened, a deployment's shape.

ProductionStack is AlertStack (benchmarks/alert_stack.py) with the shipped
configuration left as it is: Prometheus loads the shipped rule files in place, with
the shipped global scrape/evaluation intervals and per-job settings and its default
alert resend delay; Alertmanager keeps the shipped group_wait, group_interval and
repeat_interval (only the receivers' addresses and secret files change). The service
runs as deployed at scale: `synthdata serve` (one API process, no job threads) and
one `synthdata worker` (one CPU thread, as a one-CPU container), on a scratch
PostgreSQL database and the Redis queue, both reached through the proxies the
exporters use, so a data store fault hits the service and its exporter alike.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import redis
import yaml
from tests.databases import PG_SERVER, scratch_postgres
from tests.fixtures.processes import REDIS_SERVER, Proc, free_port, service_env, wait_http

from benchmarks.alert_config import (
    ALERTMANAGER_YML,
    DEFAULT_RESEND_DELAY,
    shipped_prometheus,
    shipped_rule_files,
)
from benchmarks.alert_proxy import TcpProxy
from benchmarks.alert_stack import AlertStack, binary, host_port
from benchmarks.service_processes import create_customer_key

MAX_JOB_ROWS = 2_000_000_000


@dataclass
class ProductionStack(AlertStack):
    """AlertStack with the shipped durations, PostgreSQL + Redis + a worker."""

    # The service's own way to PostgreSQL (the exporter has pg_proxy): a slow database
    # delays the service's queries, while the exporter still answers its scrapes.
    db_proxy: TcpProxy | None = None
    tag: str = field(default_factory=lambda: f"alertbench-{uuid.uuid4().hex[:8]}")
    api_key: str = ""
    worker: Proc | None = None
    service_env: dict[str, str] = field(default_factory=dict)
    _cleanup: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)

    def _alertmanager_timing(self, config: dict[str, Any]) -> None:
        pass  # the shipped timers

    def _api_env(self, api_home: Path) -> dict[str, str]:
        assert self.pg_proxy is not None and self.redis_proxy is not None
        self.db_proxy = TcpProxy(host_port(PG_SERVER, 5432))
        database = self._cleanup.enter_context(scratch_postgres(self.tag.replace("-", "_")))
        db = urlsplit(database)
        redis_db = urlsplit(REDIS_SERVER).path or "/0"
        self.service_env = service_env(
            api_home,
            SYNTHDATA_FAULT_INJECTION="true",
            SYNTHDATA_DATABASE_URL=f"{db.scheme}://{db.username or 'postgres'}"
            f"{':' + db.password if db.password else ''}@{self.db_proxy.address}{db.path}",
            SYNTHDATA_QUEUE="redis",
            SYNTHDATA_REDIS_URL=f"redis://{self.redis_proxy.address}{redis_db}",
            SYNTHDATA_QUEUE_NAME=self.tag,
            SYNTHDATA_RATE_LIMIT_PREFIX=f"{self.tag}:rl",
            # The soak's jobs are sized by time (20+ minutes on this machine), which
            # on a fast worker is more rows than the default per-job ceiling.
            SYNTHDATA_MAX_JOB_ROWS=str(MAX_JOB_ROWS),
        )
        return self.service_env

    def _start_more(self) -> dict[str, str]:
        assert self.api is not None
        wait_http(self.api, "/readyz", timeout=120)  # the schema exists before the worker
        _, self.api_key = create_customer_key(self.service_env, "alert-benchmark")
        port = free_port()
        self.worker = self._start(
            "worker",
            [sys.executable, "-m", "synthdata", "worker", "--metrics-port", str(port)],
            {**self.service_env, "SYNTHDATA_WORKER_CPU_THREADS": "1"},
            f"http://127.0.0.1:{port}",
        )
        wait_http(self.worker, "/metrics", timeout=120)
        targets = {"synthdata-worker": f"127.0.0.1:{port}"}
        jobs = {job["job_name"] for job in shipped_prometheus()["scrape_configs"]}
        node_exporter = _optional_binary("prometheus-node-exporter", "node_exporter")
        if "node-exporter" in jobs and node_exporter:
            # The host's disks and CPU, as the shipped node alerts watch them.
            port = free_port()
            proc = self._start(
                "node-exporter",
                [node_exporter, f"--web.listen-address=127.0.0.1:{port}"],
                dict(os.environ),
                f"http://127.0.0.1:{port}",
            )
            wait_http(proc, "/metrics", timeout=60)
            targets["node-exporter"] = f"127.0.0.1:{port}"
        return targets

    def _rule_files(self, prom_home: Path) -> list[str]:
        return [str(path) for path in shipped_rule_files()]  # read in place

    def _prometheus_global(self, shipped: dict[str, Any]) -> dict[str, Any]:
        return shipped

    def _scrape_job(self, job: dict[str, Any]) -> None:
        pass

    def _prometheus_flags(self) -> list[str]:
        return []

    def _describe(self) -> dict[str, str]:
        shipped = shipped_prometheus()
        route = yaml.safe_load(ALERTMANAGER_YML.read_text())["route"]
        described = {
            "rule files": "the shipped files, unchanged ("
            + ", ".join(p.name for p in shipped_rule_files())
            + ")",
            **{k: str(v) for k, v in shipped["global"].items() if k.endswith(("interval", "out"))},
            **{
                f"{job['job_name']} {k}": str(job[k])
                for job in shipped["scrape_configs"]
                for k in ("scrape_interval", "scrape_timeout")
                if k in job
            },
            "rules.alert.resend-delay": f"{DEFAULT_RESEND_DELAY} (Prometheus default)",
        }
        for key in ("group_wait", "group_interval", "repeat_interval"):
            described[key] = str(route.get(key, "Alertmanager default"))
        described["service"] = (
            "synthdata serve (1 API process, fault injection on) + 1 synthdata worker "
            "(1 CPU thread); PostgreSQL and Redis through the exporters' proxies"
        )
        return described

    def kill_api(self) -> None:
        """SIGKILL the API's whole process group: no graceful shutdown."""
        assert self.api is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(os.getpgid(self.api.popen.pid), signal.SIGKILL)
        self.api.popen.wait(10)

    def restart_api(self) -> None:
        wait_http(self.start_api(), "/readyz", timeout=120)

    def stop(self) -> None:
        try:
            super().stop()
        finally:
            if self.db_proxy is not None:
                self.db_proxy.stop()
            with contextlib.suppress(redis.RedisError):
                client = redis.Redis.from_url(REDIS_SERVER)
                names = list(client.scan_iter(match=f"*{self.tag}*", count=1000))
                if names:
                    client.delete(*names)
            self._cleanup.close()


def _optional_binary(*names: str) -> str | None:
    try:
        return binary(*names)
    except FileNotFoundError:
        return None
