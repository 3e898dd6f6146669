"""The monitoring stack: Kubernetes manifests generated from the shipped configuration
(`monitoring_manifests`), and a local stack (Prometheus, Alertmanager, the incident
spool, exporters) started on loopback by `synthdata monitoring up | status | down`.

The local stack follows the service as it is configured (`StackOptions.for_service`):
exporter jobs and their alerts only for the PostgreSQL and Redis the service uses
(`monitoring_config`), and the incident webhook's token shared with the API through
the service's home (`monitoring_secrets`). Alertmanager posts incidents to the
incident spool (`synthdata incident-spool`), which stores them under the state
directory and forwards them to the API, so none is lost while the API is down. Its
processes are recorded under one state directory (default ./var/monitoring;
`monitoring_processes`). This module starts them and re-exports the public names of
the others.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

from synthdata.ops.monitoring_config import (
    StackOptions,
    local_alertmanager_config,
    local_prometheus_config,
    postgres_dsn,
    render_rule_files,
    rules_for_jobs,
    unused_jobs,
)
from synthdata.ops.monitoring_manifests import (
    GENERATED,
    build_manifests,
    dump_yaml,
    find_monitoring_dir,
    render_generated,
    rule_files,
)
from synthdata.ops.monitoring_processes import (
    Component,
    ComponentStatus,
    StackError,
    down,
    read_components,
    reload_configuration,
    start_component,
    status,
    stop_component,
    wait_ready,
)
from synthdata.ops.monitoring_secrets import (
    SECRET_NAMES,
    incident_webhook_token,
    write_secrets,
)
from synthdata.service.core.settings import Settings

__all__ = [
    "EXPORTERS",
    "GENERATED",
    "SECRET_NAMES",
    "Component",
    "ComponentStatus",
    "StackError",
    "StackOptions",
    "build_manifests",
    "down",
    "dump_yaml",
    "find_monitoring_dir",
    "local_alertmanager_config",
    "local_prometheus_config",
    "read_components",
    "render_generated",
    "rule_files",
    "rules_for_jobs",
    "status",
    "unused_jobs",
    "up",
]

# Exporters: component name -> (binary candidates, port).
EXPORTERS = {
    "node-exporter": (("prometheus-node-exporter", "node_exporter"), 9100),
    "postgres-exporter": (("prometheus-postgres-exporter", "postgres_exporter"), 9187),
    "redis-exporter": (("prometheus-redis-exporter", "redis_exporter"), 9121),
}
Log = Callable[[str], None]


def _which(*names: str) -> str | None:
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    return None


class _Launcher:
    """Starts the stack's processes one by one; a failure stops what it started."""

    def __init__(self, state_dir: Path, ready_timeout: float, log: Log) -> None:
        self.state_dir = state_dir
        self.ready_timeout = ready_timeout
        self.log = log
        self.running = {c.name: c for c in read_components(state_dir) if c.running()}
        self.started: list[Component] = []

    def launch(
        self, name: str, args: list[str], url: str, health: str, env: dict[str, str] | None = None
    ) -> None:
        """Start `name` unless it runs; a running Prometheus or Alertmanager reloads."""
        if name in self.running:
            current = self.running[name]
            reloads = name in ("prometheus", "alertmanager")
            note = (
                ""
                if not reloads or reload_configuration(current)
                else ("; its configuration could not be reloaded")
            )
            self.log(f"{name}: already running (pid {current.pid}){note}")
            return
        component = start_component(self.state_dir, name, args, url, health, env)
        self.started.append(component)
        try:
            wait_ready(component, self.ready_timeout)
        except StackError:
            for other in reversed(self.started):
                stop_component(self.state_dir, other)
            raise
        self.running[name] = component
        self.log(f"{name}: started (pid {component.pid}) on {url}")


def up(options: StackOptions, log: Log = lambda _: None) -> list[Component]:
    """Start whatever of the stack is not running yet (and have what runs read its
    regenerated configuration); return every running component.

    Raises StackError (after stopping what this call started) when a component does
    not become healthy; FileNotFoundError when Prometheus or Alertmanager is missing.
    """
    prometheus = _which("prometheus")
    alertmanager = _which("prometheus-alertmanager", "alertmanager")
    if prometheus is None or alertmanager is None:
        raise FileNotFoundError(
            "prometheus and prometheus-alertmanager are needed "
            "(apt-get install prometheus prometheus-alertmanager)"
        )
    monitoring_dir = find_monitoring_dir(options.monitoring_dir)
    service = options.service or Settings()
    state_dir = options.state_dir.resolve()
    state_dir.mkdir(parents=True, exist_ok=True)
    launcher = _Launcher(state_dir, options.ready_timeout, log)
    # The spool, then Alertmanager (which posts to the spool), then Prometheus (which
    # sends to Alertmanager from its first evaluation).
    am_config, webhook_on = _write_alertmanager_config(
        options, service, monitoring_dir, state_dir, log
    )
    if webhook_on:
        _start_incident_spool(options, service, state_dir, launcher)
    else:
        log("incident-spool: not started (the API refuses the incident webhook)")
    launcher.launch(
        "alertmanager",
        [
            alertmanager,
            f"--config.file={am_config}",
            f"--storage.path={am_config.parent / 'data'}",
            f"--web.listen-address=127.0.0.1:{options.alertmanager_port}",
            "--cluster.listen-address=",
        ],
        f"http://127.0.0.1:{options.alertmanager_port}",
        "/-/ready",
    )
    unused = unused_jobs(options)
    prom_config = _write_prometheus_config(options, service, monitoring_dir, state_dir, log)
    launcher.launch(
        "prometheus",
        [
            prometheus,
            f"--config.file={prom_config}",
            f"--storage.tsdb.path={prom_config.parent / 'data'}",
            f"--web.listen-address=127.0.0.1:{options.prometheus_port}",
            "--web.enable-lifecycle",
        ],
        f"http://127.0.0.1:{options.prometheus_port}",
        "/-/ready",  # answers queries (healthy alone comes before the storage is open)
    )
    if options.exporters:
        _start_exporters(options, unused, launcher, log, monitoring_dir)
    return list(launcher.running.values())


def _start_incident_spool(
    options: StackOptions, service: Settings, state_dir: Path, launcher: _Launcher
) -> None:
    """`synthdata incident-spool` on loopback, its spool under the state dir, forwarding
    to the API with the token the API reads (its variable, else the same token file)."""
    env = dict(os.environ)
    env["SYNTHDATA_HOME"] = str(service.home)
    env["SYNTHDATA_ALERT_WEBHOOK_TOKEN_FILE"] = str(service.alert_webhook_token_file)
    env.pop("SYNTHDATA_ALERT_WEBHOOK_TOKEN", None)
    if service.configured_alert_webhook_token is not None:
        env["SYNTHDATA_ALERT_WEBHOOK_TOKEN"] = service.configured_alert_webhook_token
    address = f"127.0.0.1:{options.incident_spool_port}"
    args = [sys.executable, "-m", "synthdata", "incident-spool"]
    args += ["--api-url", options.api_url, "--host", "127.0.0.1"]
    args += ["--port", str(options.incident_spool_port)]
    args += ["--spool-file", str(state_dir / "incident-spool" / "spool.sqlite3")]
    launcher.launch("incident-spool", args, f"http://{address}", "/healthz", env)


def _write_alertmanager_config(
    options: StackOptions, service: Settings, monitoring_dir: Path, state_dir: Path, log: Log
) -> tuple[Path, bool]:
    """The secrets (the webhook token shared with the API) and alertmanager.yml; and
    whether its receivers post to the incident webhook (False: the API refuses it)."""
    secret_dir = state_dir / "secrets"
    token, origin = incident_webhook_token(service)
    log(f"incident webhook token: {origin}")
    write_secrets(secret_dir, token, log)
    am_dir = state_dir / "alertmanager"
    (am_dir / "data").mkdir(parents=True, exist_ok=True)
    config = am_dir / "alertmanager.yml"
    text = local_alertmanager_config(options, monitoring_dir, secret_dir, token is not None)
    config.write_text(text)
    return config, token is not None


def _write_prometheus_config(
    options: StackOptions, service: Settings, monitoring_dir: Path, state_dir: Path, log: Log
) -> Path:
    """prometheus.yml and the rule files, for the jobs this service needs."""
    prom_dir = state_dir / "prometheus"
    (prom_dir / "data").mkdir(parents=True, exist_ok=True)
    unused = unused_jobs(options)
    for job, why in unused.items():
        log(f"{job}: not scraped ({why})")
    rule_paths, left_out = render_rule_files(monitoring_dir, prom_dir / "rules", unused)
    if left_out:
        log(f"rules left out (their inputs are not scraped here): {', '.join(left_out)}")
    token_file = None
    if service.metrics_token.strip():  # the API wants it on /metrics
        token_file = state_dir / "secrets" / "metrics-token"
        token_file.write_text(service.metrics_token.strip() + "\n")
        token_file.chmod(0o600)
    config = local_prometheus_config(options, monitoring_dir, token_file, rule_paths)
    path = prom_dir / "prometheus.yml"
    path.write_text(dump_yaml(config))
    return path


def exporter_command(
    name: str, binary: str, address: str, options: StackOptions, monitoring_dir: Path
) -> tuple[list[str], dict[str, str]]:
    """The command line and environment of one exporter as the local stack runs it.

    postgres_exporter gets the shipped custom queries (pg_stat_statements), which
    PostgreSQLSlowQueries and the database dashboard read, as Compose and Kubernetes do.
    """
    env = dict(os.environ)
    if name == "postgres-exporter":
        env["DATA_SOURCE_NAME"] = postgres_dsn(options.database_url) or ""
        queries = monitoring_dir / "postgres-exporter" / "queries.yaml"
        return [binary, f"--web.listen-address={address}", f"--extend.query-path={queries}"], env
    if name == "redis-exporter":
        return [binary, f"-web.listen-address={address}", f"-redis.addr={options.redis_url}"], env
    return [binary, f"--web.listen-address={address}"], env


def _start_exporters(
    options: StackOptions,
    unused: dict[str, str],
    launcher: _Launcher,
    log: Log,
    monitoring_dir: Path,
) -> None:
    """The installed exporters of the jobs the stack scrapes, on their shipped ports."""
    for name, (binaries, port) in EXPORTERS.items():
        if name in unused:
            continue
        binary = _which(*binaries)
        if binary is None:
            consequence = "" if name == "node-exporter" else ": its connection alert will fire"
            log(f"{name}: not started ({' or '.join(binaries)} not installed){consequence}")
            continue
        address = f"127.0.0.1:{port}"
        args, env = exporter_command(name, binary, address, options, monitoring_dir)
        launcher.launch(name, args, f"http://{address}", "/metrics", env)
