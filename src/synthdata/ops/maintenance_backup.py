"""`backup-monitoring-config`: one timestamped tar.gz of the monitoring configuration.

The archive holds `monitoring/` as shipped (rules and their tests, Alertmanager,
Grafana dashboards and provisioning, Fluent Bit, Kubernetes manifests, compose), the
configurations the live stack actually runs when it can be reached (Prometheus
`/api/v1/status/config`, Alertmanager `/api/v2/status` `config.original`, every
Grafana dashboard when `grafana_url` is set), and `manifest.json` with the sha256 of
every other member.

Secrets never enter it: key material and `secrets/` folders are skipped, the live
configurations have every secret-named field replaced by `<secret>` (files named by
`*_file` fields are never read), URLs lose their passwords, and the Grafana token
is only sent, not stored.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import tarfile
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from synthdata.observability.logging import scrub
from synthdata.ops.dashboards import GrafanaClient, GrafanaError, backup
from synthdata.ops.live_api import ApiError, LiveApi, Unreachable
from synthdata.ops.report import Report
from synthdata.service.core.db import utcnow
from synthdata.service.core.settings import Settings

REDACTED = "<secret>"
SKIPPED_DIRS = {"secrets", "__pycache__", ".git"}
SKIPPED_SUFFIXES = {".key", ".pem", ".p12", ".pfx", ".pyc", ".env"}
_SECRET_FIELD = re.compile(
    r"(?i)(password|secret|token|credentials|routing_key|service_key|api_key|api_url)$"
)


def redact(document: Any) -> Any:
    """`document` with secret-named fields replaced and passwords taken out of URLs."""
    if isinstance(document, dict):
        return {
            key: (
                REDACTED
                if _SECRET_FIELD.search(str(key)) and value not in (None, "", REDACTED)
                else redact(value)
            )
            for key, value in document.items()
        }
    if isinstance(document, list):
        return [redact(item) for item in document]
    if isinstance(document, str):
        return scrub(document)
    return document


def redacted_yaml(text: str) -> bytes:
    """A live YAML configuration, parsed, redacted and written back."""
    return yaml.safe_dump(redact(yaml.safe_load(text)), sort_keys=False).encode()


def shipped_files(monitoring_dir: Path) -> dict[str, bytes]:
    """`monitoring/<path>` -> content for every shipped file that is not a secret."""
    found: dict[str, bytes] = {}
    for path in sorted(monitoring_dir.rglob("*")):
        relative = path.relative_to(monitoring_dir)
        if not path.is_file() or SKIPPED_DIRS & set(relative.parts):
            continue
        if path.suffix in SKIPPED_SUFFIXES:
            continue
        found[f"monitoring/{relative.as_posix()}"] = path.read_bytes()
    return found


def live_configs(settings: Settings, report: Report) -> dict[str, bytes]:
    """The configurations the running stack uses (one finding per component)."""
    members: dict[str, bytes] = {}
    with LiveApi("Prometheus", settings.prometheus_url) as api:
        try:
            members["live/prometheus.yml"] = redacted_yaml(api.get("/api/v1/status/config")["yaml"])
            report.add("live Prometheus config", "ok", f"from {api.url}")
        except (Unreachable, ApiError, KeyError, yaml.YAMLError) as exc:
            report.add("live Prometheus config", "unreachable", str(exc))
    with LiveApi("Alertmanager", settings.alertmanager_url) as api:
        try:
            original = api.get("/api/v2/status")["config"]["original"]
            members["live/alertmanager.yml"] = redacted_yaml(original)
            report.add("live Alertmanager config", "ok", f"from {api.url}")
        except (Unreachable, ApiError, KeyError, TypeError, yaml.YAMLError) as exc:
            report.add("live Alertmanager config", "unreachable", str(exc))
    if not settings.grafana_url:
        report.add("live Grafana dashboards", "info", "SYNTHDATA_GRAFANA_URL is not set: skipped")
        return members
    token = os.environ.get("GRAFANA_TOKEN") or None
    try:
        with (
            GrafanaClient(settings.grafana_url, token) as client,
            tempfile.TemporaryDirectory() as tmp,
        ):
            output = Path(tmp) / "dashboards.json"
            count = backup(client, output)
            members["live/grafana-dashboards.json"] = output.read_bytes()
        report.add(
            "live Grafana dashboards", "ok", f"{count} dashboards from {settings.grafana_url}"
        )
    except GrafanaError as exc:
        report.add("live Grafana dashboards", "unreachable", str(exc))
    return members


def manifest(members: dict[str, bytes], created: datetime, sources: dict[str, str]) -> bytes:
    """The manifest: when, from where, and each member's size and sha256."""
    files = [
        {"path": name, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
        for name, data in sorted(members.items())
    ]
    document = {"created_at": created.isoformat(timespec="seconds"), "sources": sources}
    return (json.dumps({**document, "files": files}, indent=2) + "\n").encode()


def write_archive(path: Path, members: dict[str, bytes]) -> None:
    """Write the tar.gz atomically (a partial archive never has the final name)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    with tarfile.open(partial, "w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), int(time.time()), 0o644
            archive.addfile(info, io.BytesIO(data))
    partial.replace(path)


def backup_monitoring_config(
    settings: Settings, monitoring_dir: Path, output_dir: Path, now: datetime | None = None
) -> Report:
    """Archive the shipped and live monitoring configuration into `output_dir`."""
    created = now or utcnow()
    report = Report("backup-monitoring-config")
    try:
        members = shipped_files(monitoring_dir)
    except OSError as exc:
        report.add("monitoring files", "fail", f"cannot read {monitoring_dir}: {exc}")
        return report
    report.add("monitoring files", "ok", f"{len(members)} files from {monitoring_dir}")
    members.update(live_configs(settings, report))
    sources = {
        "monitoring_dir": str(monitoring_dir),
        "prometheus": settings.prometheus_url,
        "alertmanager": settings.alertmanager_url,
        "grafana": settings.grafana_url,
    }
    members["manifest.json"] = manifest(members, created, sources)
    path = output_dir / f"monitoring-config-{created:%Y%m%dT%H%M%SZ}.tar.gz"
    try:
        write_archive(path, members)
    except OSError as exc:
        report.add("archive", "fail", f"cannot write {path}: {exc.strerror or exc}")
        return report
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    report.add("archive", "ok", f"{path} ({len(members)} members)", path=str(path), sha256=digest)
    report.extra["archive"] = str(path)
    return report
