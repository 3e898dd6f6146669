"""Real processes for the security and maintenance tests.

`synthdata serve` writing its JSON log file, Prometheus (any configuration, any
flags) and Alertmanager (the shipped configuration, secrets in temporary files),
each on a free loopback port, each stopped with its process group at teardown.
Built on the end-to-end helpers (`tests/fixtures/processes.py`) and the benchmarks'
process helpers, so the processes run exactly as there.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from benchmarks.service_processes import SYNTHDATA, cli, free_port

from synthdata.ops.monitoring_stack import StackOptions, local_alertmanager_config
from tests.fixtures.processes import Proc, Prometheus, prometheus_binary, service_env, wait_http

REPO = Path(__file__).resolve().parents[2]
MONITORING = REPO / "monitoring"
RULES = MONITORING / "prometheus" / "rules"
# Values of the Alertmanager secrets; a backup must never contain them.
SECRET_VALUES = {
    "pagerduty-routing-key": "pd-key-never-in-a-backup-4711",
    "slack-webhook-url": "https://hooks.slack.invalid/services/T0/B0/never-in-a-backup-4711",
    "incident-webhook-token": "incident-token-never-in-a-backup-4711",
}


class LiveStack:
    """Starts processes under `home`; `close` stops them all (last started first)."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.logs = home / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.started: list[Proc] = []

    def start(self, name: str, args: list[str], env: dict[str, str], url: str = "") -> Proc:
        log = self.logs / f"{name}-{len(self.started)}.log"
        with log.open("wb") as sink:
            popen = subprocess.Popen(
                args, env=env, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True
            )
        proc = Proc(name, popen, log, url)
        self.started.append(proc)
        return proc

    def close(self) -> None:
        for proc in reversed(self.started):
            proc.stop()

    # -- the service ------------------------------------------------------------------------
    def service_env(self, **extra: str) -> dict[str, str]:
        """A test deployment under `home`, logging JSON lines to `home/synthdata.log`."""
        defaults = {
            "SYNTHDATA_LOG_FILE": str(self.home / "synthdata.log"),
            "SYNTHDATA_LOG_LEVEL": "INFO",  # 2xx access lines are logged at INFO
        }
        return service_env(self.home / "service", **{**defaults, **extra})

    def serve(self, env: dict[str, str]) -> Proc:
        """`synthdata serve` (one process, so in-memory limits are shared), ready."""
        port = free_port()
        args = [*SYNTHDATA, "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
        proc = self.start("serve", args, env, url=f"http://127.0.0.1:{port}")
        wait_http(proc, "/readyz")
        return proc

    # -- Prometheus and Alertmanager -----------------------------------------------------------
    def prometheus(
        self, config: dict[str, Any], *flags: str, data: Path | None = None
    ) -> Prometheus:
        """Prometheus with `config` (written as YAML; `{self}` stands for its own
        host:port) and extra command-line `flags`."""
        home = self.home / f"prometheus-{len(self.started)}"
        home.mkdir(parents=True)
        port = free_port()
        text = json.dumps(config, indent=2).replace("{self}", f"127.0.0.1:{port}")
        (home / "prometheus.yml").write_text(text)  # JSON is YAML
        args = [
            prometheus_binary("prometheus"),
            f"--config.file={home / 'prometheus.yml'}",
            f"--storage.tsdb.path={data or home / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            *flags,
        ]
        proc = self.start("prometheus", args, dict(os.environ), url=f"http://127.0.0.1:{port}")
        wait_http(proc, "/-/ready", timeout=60)
        return Prometheus(proc)

    def alertmanager(self) -> Proc:
        """Alertmanager running the shipped configuration, secrets from files under `home`."""
        home = self.home / f"alertmanager-{len(self.started)}"
        secrets = home / "secrets"
        secrets.mkdir(parents=True)
        for name, value in SECRET_VALUES.items():
            (secrets / name).write_text(value + "\n")
        config = home / "alertmanager.yml"
        config.write_text(local_alertmanager_config(StackOptions(), MONITORING, secrets))
        port = free_port()
        args = [
            prometheus_binary("prometheus-alertmanager"),
            f"--config.file={config}",
            f"--storage.path={home / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
        ]
        proc = self.start("alertmanager", args, dict(os.environ), url=f"http://127.0.0.1:{port}")
        wait_http(proc, "/-/ready", timeout=60)
        return proc


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[LiveStack]:
    """A `LiveStack` for one test (import it into the test module as `stack`)."""
    live = LiveStack(tmp_path)
    try:
        yield live
    finally:
        live.close()


def scrape_config(job: str, target: str) -> dict[str, Any]:
    """One static scrape job, every second."""
    return {
        "global": {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"},
        "scrape_configs": [{"job_name": job, "static_configs": [{"targets": [target]}]}],
    }


def target(url: str) -> str:
    """`host:port` of an `http://host:port` URL."""
    return url.split("://", 1)[1]


def admin_key(env: dict[str, str]) -> str:
    """A platform admin key, made with `synthdata admin create-key --role admin`."""
    return cli(env, "admin", "create-key", "--role", "admin")


def request(
    base: str, method: str, path: str, *, key: str | None = None, source: str, **kwargs: Any
) -> httpx.Response:
    """One request as if from `source`: the service trusts X-Forwarded-For from loopback."""
    headers = {"X-Forwarded-For": source}
    if key:
        headers["X-API-Key"] = key
    return httpx.request(method, base + path, headers=headers, timeout=30.0, **kwargs)


def run_script(
    script: str, *args: str, env: dict[str, str], cwd: Path
) -> subprocess.CompletedProcess[str]:
    """`./scripts/<script> ARGS` as the runbook runs it (with the test's synthdata)."""
    env = {**env, "SYNTHDATA_BIN": str(Path(sys.executable).parent / "synthdata")}
    return subprocess.run(
        [str(REPO / "scripts" / script), *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def findings(output: str) -> dict[str, dict[str, Any]]:
    """`--json` output -> {finding name: finding}."""
    return {item["name"]: item for item in json.loads(output)["findings"]}


def no_traceback(done: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in done.stdout + done.stderr, done.stderr


def customer_with_key(base: str, admin: str, name: str, source: str) -> tuple[str, str]:
    """A customer and its key, created through the API with an admin key (audited)."""
    made = request(base, "POST", "/api/v1/customers", key=admin, source=source, json={"name": name})
    assert made.status_code == 201, made.text
    customer = str(made.json()["id"])
    key = request(
        base, "POST", f"/api/v1/customers/{customer}/keys", key=admin, source=source, json={}
    )
    assert key.status_code == 201, key.text
    return customer, str(key.json()["secret"])
