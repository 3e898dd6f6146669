"""The configurations of the local monitoring stack, rendered from the shipped files for
the service as it is actually configured.

The shipped `prometheus.yml` lists every scrape job a full deployment has, PostgreSQL
and Redis exporters included, and the rules alert when those exporters or their
series are missing (`absent(pg_up)`): right where the service uses them, a false SEV-1
on the embedded default (SQLite, no Redis), where they can never exist. So the local
stack keeps a job only when the service uses what it watches (`unused_jobs`) and
leaves out the rules that select a job it does not scrape, and the recording rules'
readers after them (`rules_for_jobs`). The rendered rule files carry a header naming
what was left out; the shipped files are only read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from synthdata.ops.monitoring_manifests import (
    INCIDENT_SPOOL_PORT,
    SHIPPED_INCIDENT_WEBHOOK,
    SHIPPED_SECRETS_DIR,
    SHIPPED_TEMPLATES,
    WEBHOOK_PATH,
    dump_yaml,
    rule_files,
)
from synthdata.service.core.settings import Settings


@dataclass
class StackOptions:
    """What `synthdata monitoring up` starts and where, and what the service uses."""

    state_dir: Path = Path("./var/monitoring")
    api_url: str = "http://127.0.0.1:8000"
    worker_url: str = "http://127.0.0.1:8001"
    prometheus_port: int = 9090
    alertmanager_port: int = 9093
    # The incident spool Alertmanager posts incidents to; it forwards them to api_url.
    incident_spool_port: int = INCIDENT_SPOOL_PORT
    monitoring_dir: Path | None = None
    # The service's database (SQLAlchemy URL) and Redis: PostgreSQL adds the
    # postgres-exporter job and its alerts, a Redis URL the redis-exporter ones.
    database_url: str | None = None
    redis_url: str | None = None
    exporters: bool = True
    scrape_interval: str | None = None  # None: as shipped
    evaluation_interval: str | None = None
    ready_timeout: float = 60.0
    # The service's settings (the webhook token and the metrics token); None: read
    # from the environment when the stack starts.
    service: Settings | None = None

    @classmethod
    def for_service(cls, service: Settings, **overrides: Any) -> StackOptions:
        """Options for the service `service` describes; explicit overrides win."""
        values: dict[str, Any] = {
            "api_url": service.api_url,
            "database_url": service.database_url,
            "redis_url": service.redis_url,
            "service": service,
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


def postgres_dsn(url: str | None) -> str | None:
    """A libpq URL for postgres_exporter from a SQLAlchemy URL (None unless PostgreSQL)."""
    if not url or not url.startswith("postgres"):
        return None
    scheme, rest = url.split("://", 1)
    return f"postgresql://{rest}" if "+" in scheme or scheme == "postgres" else url


def unused_jobs(options: StackOptions) -> dict[str, str]:
    """Scrape jobs of the shipped file that watch something this service does not use:
    {job: why}."""
    unused: dict[str, str] = {}
    if postgres_dsn(options.database_url) is None:
        scheme = (options.database_url or "none").split(":", 1)[0]
        unused["postgres-exporter"] = f"the service's database is not PostgreSQL ({scheme})"
    if not options.redis_url:
        unused["redis-exporter"] = "the service uses no Redis (SYNTHDATA_REDIS_URL is unset)"
    return unused


# `job="name"` in a selector; regular-expression matchers (`job=~`) are left alone.
_JOB_EQUALS = re.compile(r'\bjob\s*=\s*"([^"]*)"')


def _uses_name(expr: str, name: str) -> bool:
    return re.search(rf"(?<![\w:]){re.escape(name)}(?![\w:])", expr) is not None


def rules_for_jobs(
    documents: dict[str, dict[str, Any]], missing_jobs: set[str]
) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """The rule files without the rules that select a job in `missing_jobs`, nor those
    that read a series recorded by a rule left out; and the names left out.

    Groups are kept, possibly empty, so the stack loads the same groups everywhere.
    """
    left_out: list[str] = []
    dropped_records: set[str] = set()

    def needed(rule: dict[str, Any]) -> bool:
        expr = str(rule.get("expr", ""))
        if set(_JOB_EQUALS.findall(expr)) & missing_jobs:
            return False
        return not any(_uses_name(expr, record) for record in dropped_records)

    result = documents
    while True:
        before = len(left_out)
        filtered: dict[str, dict[str, Any]] = {}
        for name, document in result.items():
            groups = []
            for group in document.get("groups", []):
                kept = []
                for rule in group.get("rules", []):
                    if needed(rule):
                        kept.append(rule)
                        continue
                    left_out.append(rule.get("alert") or rule["record"])
                    if "record" in rule:
                        dropped_records.add(rule["record"])
                groups.append({**group, "rules": kept})
            filtered[name] = {**document, "groups": groups}
        result = filtered
        if len(left_out) == before:  # nothing more depends on what was left out
            return result, left_out


def render_rule_files(
    monitoring_dir: Path, target_dir: Path, missing_jobs: dict[str, str]
) -> tuple[list[Path], list[str]]:
    """Write the shipped rule files, less the rules for `missing_jobs`, to `target_dir`;
    return their paths (in prometheus.yml's order) and the rules left out."""
    shipped = rule_files(monitoring_dir)
    documents = {path.name: yaml.safe_load(path.read_text()) for path in shipped}
    kept, left_out = rules_for_jobs(documents, set(missing_jobs))
    target_dir.mkdir(parents=True, exist_ok=True)
    why = "; ".join(f"{job}: {reason}" for job, reason in sorted(missing_jobs.items()))
    written = []
    for path in shipped:
        header = (
            f"# GENERATED by `synthdata monitoring up` from {path}.\n"
            f"# Left out: the rules that select a job not scraped here ({why or 'none'}).\n"
        )
        out = target_dir / path.name
        out.write_text(header + dump_yaml(kept[path.name]))
        written.append(out)
    return written, left_out


def _hostport(url: str) -> str:
    parts = urlsplit(url)
    if not parts.hostname or not parts.port:
        raise ValueError(f"{url!r}: expected http://HOST:PORT")
    return f"{parts.hostname}:{parts.port}"


def local_prometheus_config(
    options: StackOptions,
    monitoring_dir: Path,
    metrics_token_file: Path | None = None,
    rule_paths: list[Path] | None = None,
) -> dict[str, Any]:
    """prometheus.yml for the local stack: the shipped jobs this service needs (see
    `unused_jobs`), their targets pointed at this stack's ports and at the given API
    and worker, and `rule_paths` (default: the shipped rule files). With
    `metrics_token_file`, the API is scraped with that bearer token
    (`SYNTHDATA_METRICS_TOKEN`: without one the API answers /metrics to loopback only)."""
    config = yaml.safe_load((monitoring_dir / "prometheus" / "prometheus.yml").read_text())
    paths = rule_paths if rule_paths is not None else rule_files(monitoring_dir)
    config["rule_files"] = [str(path) for path in paths]
    if options.scrape_interval:
        config["global"]["scrape_interval"] = options.scrape_interval
        config["global"]["scrape_timeout"] = options.scrape_interval
    if options.evaluation_interval:
        config["global"]["evaluation_interval"] = options.evaluation_interval
    config["alerting"]["alertmanagers"] = [
        {"static_configs": [{"targets": [f"127.0.0.1:{options.alertmanager_port}"]}]}
    ]
    targets = {
        "prometheus": f"127.0.0.1:{options.prometheus_port}",
        "synthdata-api": _hostport(options.api_url),
        "synthdata-worker": _hostport(options.worker_url),
    }
    unused = unused_jobs(options)
    config["scrape_configs"] = [j for j in config["scrape_configs"] if j["job_name"] not in unused]
    for job in config["scrape_configs"]:
        if job["job_name"] in targets:
            for static in job["static_configs"]:
                static["targets"] = [targets[job["job_name"]]]
        if job["job_name"] == "synthdata-api" and metrics_token_file is not None:
            job["authorization"] = {"type": "Bearer", "credentials_file": str(metrics_token_file)}
    return config


def local_alertmanager_config(
    options: StackOptions, monitoring_dir: Path, secret_dir: Path, incident_webhook: bool = True
) -> str:
    """alertmanager.yml for the local stack: secrets in `secret_dir`, the shipped
    templates, the incident webhook of the stack's incident spool (which forwards to
    the API at --api-url); without `incident_webhook` (the API refuses it) no receiver
    posts there, so no refused call is ever made."""
    text = (monitoring_dir / "alertmanager" / "alertmanager.yml").read_text()
    templates = monitoring_dir / "alertmanager" / SHIPPED_TEMPLATES
    webhook = f"http://127.0.0.1:{options.incident_spool_port}{WEBHOOK_PATH}"
    for old, new in (
        (SHIPPED_SECRETS_DIR, f"{secret_dir}/"),
        (SHIPPED_TEMPLATES, str(templates)),
        (SHIPPED_INCIDENT_WEBHOOK, webhook),
    ):
        text = text.replace(old, new)
    if incident_webhook:
        return text
    config = yaml.safe_load(text)
    for receiver in config.get("receivers", []):
        hooks = [h for h in receiver.get("webhook_configs", []) if h.get("url") != webhook]
        if hooks:
            receiver["webhook_configs"] = hooks
        else:
            receiver.pop("webhook_configs", None)
    return dump_yaml(config)
