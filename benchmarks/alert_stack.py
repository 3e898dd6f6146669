"""The real alerting pipeline on loopback ports: serve, exporters, Prometheus, Alertmanager.

AlertStack is the compressed form the CI test uses (tests/e2e/test_alert_flows.py): a
`synthdata serve` (fault injection on, embedded SQLite), a real Prometheus loaded with
the SHIPPED rule files, a real Alertmanager with the SHIPPED routing, and the Debian
postgres_exporter and redis_exporter watching the machine's PostgreSQL and Redis
through TcpProxy (benchmarks/alert_proxy.py). PagerDuty, Slack and the incident webhook
are one local receiver (benchmarks/alert_receiver.py).

Time is compressed, in the stack's own copies only (the shipped files are read, never
changed): scrape and evaluation every 1 s (postgres_exporter every 3 s, see
PG_EXPORTER_INTERVAL), every `for:` and range selector divided by TIME_SCALE (ranges
never below MIN_RANGE_SECONDS), group_wait and group_interval 1 s, the alert resend
delay 1 s. benchmarks/alert_production.py keeps every shipped duration instead.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
import yaml
from tests.databases import PG_SERVER
from tests.fixtures.alertmanager import INCIDENT_WEBHOOK, copy_config, receiver_secrets
from tests.fixtures.processes import REDIS_SERVER, Proc, free_port, service_env, wait_http

from benchmarks.alert_config import (
    MIN_RANGE_SECONDS,
    TIME_SCALE,
    compress_rules,
    shipped_prometheus,
    shipped_rule_files,
)
from benchmarks.alert_proxy import TcpProxy
from benchmarks.alert_receiver import TimedReceiver

SERVE = [sys.executable, "-m", "synthdata", "serve", "--host", "127.0.0.1"]
INTERVAL = "1s"
GROUP_WAIT = "1s"
GROUP_INTERVAL = "1s"
# postgres_exporter (cmd/postgres_exporter/server.go, GetServer) sleeps 1 s after a
# failed connection before it answers `pg_up 0`: with a 1 s scrape timeout that scrape
# would fail (up 0, no pg_up), so its job is scraped every 3 s with a 3 s timeout
# (2 s was seen to time out on a loaded machine).
PG_EXPORTER_INTERVAL = "3s"


def host_port(url: str, default_port: int) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port or default_port


def postgres_dsn(port: int, database: str = "test") -> str:
    """postgres_exporter's DATA_SOURCE_NAME: the test server's user, through the proxy."""
    parts = urlsplit(PG_SERVER)
    user = quote(parts.username or "postgres", safe="")
    if parts.password:
        user += ":" + quote(parts.password, safe="")
    return f"postgresql://{user}@127.0.0.1:{port}/{database}?sslmode=disable&connect_timeout=2"


def binary(*names: str, package: str = "") -> str:
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    raise FileNotFoundError(
        f"{names[0]} not installed (apt-get install {package or names[0]}; "
        "tools/env.sh ensure_debian_packages does it)"
    )


@dataclass
class AlertStack:
    """serve + Prometheus (shipped rules, compressed) + Alertmanager (shipped routing)
    + postgres_exporter and redis_exporter behind TCP proxies."""

    home: Path
    receiver: TimedReceiver
    procs: list[Proc] = field(default_factory=list)
    pg_proxy: TcpProxy | None = None
    redis_proxy: TcpProxy | None = None
    # Scrape job -> the address of its one target (the `instance` label of its series).
    exporter_targets: dict[str, str] = field(default_factory=dict)
    api_url: str = ""
    prometheus_url: str = ""
    alertmanager_url: str = ""
    settings: dict[str, str] = field(default_factory=dict)
    api: Proc | None = None
    _api_command: tuple[list[str], dict[str, str]] = field(default_factory=lambda: ([], {}))

    # -- what the production mode overrides --------------------------------------------------
    def _alertmanager_timing(self, config: dict[str, Any]) -> None:
        config["route"]["group_wait"] = GROUP_WAIT
        config["route"]["group_interval"] = GROUP_INTERVAL

    def _api_env(self, api_home: Path) -> dict[str, str]:
        return service_env(api_home, SYNTHDATA_FAULT_INJECTION="true")

    def _start_more(self) -> dict[str, str]:
        """Further processes (the production mode's worker); their scrape targets."""
        return {}

    def _rule_files(self, prom_home: Path) -> list[str]:
        (prom_home / "rules").mkdir(parents=True)
        names = []
        for path in shipped_rule_files():
            (prom_home / "rules" / path.name).write_text(compress_rules(path.read_text()))
            names.append(f"rules/{path.name}")
        return names

    def _prometheus_global(self, shipped: dict[str, Any]) -> dict[str, Any]:
        interval = {"scrape_interval": INTERVAL, "scrape_timeout": INTERVAL}
        return {**shipped, **interval, "evaluation_interval": INTERVAL}

    def _scrape_job(self, job: dict[str, Any]) -> None:
        if job["job_name"] == "postgres-exporter":
            job["scrape_interval"] = PG_EXPORTER_INTERVAL
            job["scrape_timeout"] = PG_EXPORTER_INTERVAL

    def _prometheus_flags(self) -> list[str]:
        return ["--rules.alert.resend-delay=1s"]

    def _describe(self) -> dict[str, str]:
        return {
            "scrape_interval": INTERVAL,
            "postgres-exporter scrape_interval and scrape_timeout": PG_EXPORTER_INTERVAL,
            "evaluation_interval": INTERVAL,
            "time_scale": f"every for: and range selector / {TIME_SCALE}, "
            f"ranges >= {MIN_RANGE_SECONDS}s",
            "group_wait": GROUP_WAIT,
            "group_interval": GROUP_INTERVAL,
            "rules.alert.resend-delay": "1s",
        }

    # -- processes -------------------------------------------------------------------------
    def _start(self, name: str, args: list[str], env: dict[str, str], url: str) -> Proc:
        logs = self.home / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        log = logs / f"{name}.log"
        with log.open("ab") as sink:
            popen = subprocess.Popen(
                args, env=env, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True
            )
        proc = Proc(name, popen, log, url)
        self.procs.append(proc)
        return proc

    def _start_exporters(self) -> list[Proc]:
        """postgres_exporter and redis_exporter on free ports, each through its proxy."""
        self.pg_proxy = TcpProxy(host_port(PG_SERVER, 5432))
        self.redis_proxy = TcpProxy(host_port(REDIS_SERVER, 6379))
        pg_port, redis_port = free_port(), free_port()
        pg = self._start(
            "postgres-exporter",
            [
                binary("prometheus-postgres-exporter", "postgres_exporter"),
                f"--web.listen-address=127.0.0.1:{pg_port}",
            ],
            {**os.environ, "DATA_SOURCE_NAME": postgres_dsn(self.pg_proxy.port)},
            f"http://127.0.0.1:{pg_port}",
        )
        redis = self._start(
            "redis-exporter",
            [
                binary("prometheus-redis-exporter", "redis_exporter"),
                f"--redis.addr=redis://{self.redis_proxy.address}",
                f"--web.listen-address=127.0.0.1:{redis_port}",
                "--connection-timeout=1s",
            ],
            dict(os.environ),
            f"http://127.0.0.1:{redis_port}",
        )
        self.exporter_targets = {
            "postgres-exporter": f"127.0.0.1:{pg_port}",
            "redis-exporter": f"127.0.0.1:{redis_port}",
        }
        return [pg, redis]

    def _start_alertmanager(self, alertmanager_binary: str | None) -> Proc:
        """The shipped routing, receivers pointed at the local stand-ins."""
        am_home = self.home / "alertmanager-home"
        am_home.mkdir(parents=True)
        config_path = copy_config(am_home, receiver_secrets(self.receiver.url))
        text = config_path.read_text().replace(INCIDENT_WEBHOOK, f"{self.receiver.url}/webhook")
        config = yaml.safe_load(text)
        config["global"]["pagerduty_url"] = f"{self.receiver.url}/pagerduty"
        self._alertmanager_timing(config)
        config_path.write_text(yaml.safe_dump(config, sort_keys=False))
        am_port = free_port()
        self.alertmanager_url = f"http://127.0.0.1:{am_port}"
        return self._start(
            "alertmanager",
            [
                alertmanager_binary or binary("prometheus-alertmanager", "alertmanager"),
                f"--config.file={config_path}",
                f"--storage.path={am_home / 'data'}",
                f"--web.listen-address=127.0.0.1:{am_port}",
                "--cluster.listen-address=",
            ],
            dict(os.environ),
            self.alertmanager_url,
        )

    def start_api(self) -> Proc:
        """`synthdata serve` (again, on the same port and data, after a kill)."""
        args, env = self._api_command
        self.api = self._start("serve", args, env, self.api_url)
        return self.api

    def start(self, alertmanager_binary: str | None = None) -> None:
        waits = [(proc, "/metrics") for proc in self._start_exporters()]
        waits.append((self._start_alertmanager(alertmanager_binary), "/-/ready"))
        api_home = self.home / "api"
        api_home.mkdir()
        api_port = free_port()
        self.api_url = f"http://127.0.0.1:{api_port}"
        self._api_command = (
            [*SERVE, "--port", str(api_port), "--workers", "1", "--job-threads", "0"],
            self._api_env(api_home),
        )
        waits.append((self.start_api(), "/readyz"))
        more_targets = self._start_more()
        prom_home = self.home / "prometheus-home"
        prom_home.mkdir(parents=True, exist_ok=True)
        prom_port = free_port()
        targets = {
            "prometheus": f"127.0.0.1:{prom_port}",
            "synthdata-api": f"127.0.0.1:{api_port}",
            **self.exporter_targets,
            **more_targets,
        }
        shipped = shipped_prometheus()
        scrape_configs = []
        for job in shipped["scrape_configs"]:
            if job["job_name"] in targets:
                for static in job.get("static_configs", [{}]):
                    static["targets"] = [targets[job["job_name"]]]
                self._scrape_job(job)
                scrape_configs.append(job)
        am_address = urlsplit(self.alertmanager_url).netloc
        prometheus_config = {
            "global": self._prometheus_global(shipped["global"]),
            "rule_files": self._rule_files(prom_home),
            "alerting": {"alertmanagers": [{"static_configs": [{"targets": [am_address]}]}]},
            "scrape_configs": scrape_configs,
        }
        (prom_home / "prometheus.yml").write_text(yaml.safe_dump(prometheus_config))
        self.prometheus_url = f"http://127.0.0.1:{prom_port}"
        prom = self._start(
            "prometheus",
            [
                binary("prometheus"),
                f"--config.file={prom_home / 'prometheus.yml'}",
                f"--storage.tsdb.path={prom_home / 'data'}",
                f"--web.listen-address=127.0.0.1:{prom_port}",
                *self._prometheus_flags(),
            ],
            dict(os.environ),
            self.prometheus_url,
        )
        waits.append((prom, "/-/ready"))
        for proc, path in waits:
            wait_http(proc, path, timeout=120)
        self.settings = self._describe()

    def stop(self) -> None:
        for proc in reversed(self.procs):
            proc.stop()
        for proxy in (self.pg_proxy, self.redis_proxy):
            if proxy is not None:
                proxy.stop()

    # -- looking at it ---------------------------------------------------------------------
    def exporter_sample(self, job: str, metric: str) -> float | None:
        """`metric` (without labels) as the exporter of `job` serves it right now."""
        text = httpx.get(f"http://{self.exporter_targets[job]}/metrics", timeout=5).text
        for line in text.splitlines():
            name, _, value = line.partition(" ")
            if name == metric:
                return float(value)
        return None

    def query(self, expr: str) -> list[dict[str, Any]]:
        response = httpx.get(
            f"{self.prometheus_url}/api/v1/query", params={"query": expr}, timeout=5
        )
        return list(response.json()["data"]["result"])

    def wait_query(self, expr: str, present: bool, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if bool(self.query(expr)) == present:
                return
            time.sleep(0.2)
        raise AssertionError(
            f"{expr}: still {'absent' if present else 'present'} after {timeout:.0f} s"
        )

    def alert_state(self, name: str) -> set[str]:
        return {r["metric"]["alertstate"] for r in self.query(f'ALERTS{{alertname="{name}"}}')}

    def active_alerts(self) -> list[dict[str, str]]:
        """Every pending or firing alert Prometheus holds now (its labels)."""
        return [r["metric"] for r in self.query("ALERTS")]
