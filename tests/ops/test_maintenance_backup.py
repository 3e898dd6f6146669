"""`./scripts/backup-monitoring-config.sh` with a real Prometheus and Alertmanager.

Grafana is the recording receiver of `tests/fixtures/grafana.py` (it
answers `/api/search` and `/api/dashboards/uid/...` as Grafana does and checks the
Bearer token). The archive is opened and checked member by member.
"""

from __future__ import annotations

import hashlib
import json
import tarfile
from pathlib import Path

import pytest
import yaml

from tests.fixtures import grafana as fake_grafana
from tests.fixtures.grafana import FakeGrafana
from tests.ops import live_stack
from tests.ops.live_stack import (
    MONITORING,
    SECRET_VALUES,
    LiveStack,
    findings,
    no_traceback,
    run_script,
)

stack = live_stack.stack
grafana = fake_grafana.grafana
PROMETHEUS_PASSWORD = "prom-password-never-in-a-backup-4711"


def _members(archive: Path) -> dict[str, bytes]:
    with tarfile.open(archive, "r:gz") as tar:
        return {
            member.name: tar.extractfile(member).read()  # type: ignore[union-attr]
            for member in tar.getmembers()
        }


@pytest.mark.slow
def test_backup_holds_files_and_live_configs_without_secrets(
    stack: LiveStack, grafana: FakeGrafana, tmp_path: Path
) -> None:
    config = {
        "global": {"scrape_interval": "5s"},
        "scrape_configs": [
            {
                "job_name": "prometheus",
                "basic_auth": {"username": "scraper", "password": PROMETHEUS_PASSWORD},
                "static_configs": [{"targets": ["127.0.0.1:9"]}],
            }
        ],
    }
    prometheus = stack.prometheus(config)
    alertmanager = stack.alertmanager()
    grafana.dashboards = {
        "ops-a": {"uid": "ops-a", "title": "Ops A", "panels": []},
        "ops-b": {"uid": "ops-b", "title": "Ops B", "panels": []},
    }
    env = stack.service_env(
        SYNTHDATA_PROMETHEUS_URL=prometheus.url,
        SYNTHDATA_ALERTMANAGER_URL=alertmanager.url,
        SYNTHDATA_GRAFANA_URL=grafana.url,
        GRAFANA_TOKEN=grafana.token,
    )

    done = run_script("backup-monitoring-config.sh", env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    [archive] = (tmp_path / "var" / "backups" / "monitoring").glob("monitoring-config-*.tar.gz")
    members = _members(archive)

    shipped = sorted(
        f"monitoring/{p.relative_to(MONITORING).as_posix()}"
        for p in MONITORING.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    )
    assert sorted(n for n in members if n.startswith("monitoring/")) == shipped
    rules = members["monitoring/prometheus/rules/security.yml"]
    assert rules == (MONITORING / "prometheus" / "rules" / "security.yml").read_bytes()

    live_prometheus = yaml.safe_load(members["live/prometheus.yml"])
    [job] = live_prometheus["scrape_configs"]
    assert job["job_name"] == "prometheus" and job["basic_auth"]["password"] == "<secret>"
    live_alertmanager = yaml.safe_load(members["live/alertmanager.yml"])
    assert live_alertmanager["route"]["receiver"]
    pagerduty = [r for r in live_alertmanager["receivers"] if r.get("pagerduty_configs")]
    assert pagerduty[0]["pagerduty_configs"][0]["routing_key_file"].endswith(
        "pagerduty-routing-key"
    )
    boards = json.loads(members["live/grafana-dashboards.json"])
    assert sorted(d["uid"] for d in boards["dashboards"]) == ["ops-a", "ops-b"]
    assert {r["path"] for r in grafana.requests} == {
        "/api/search",
        "/api/dashboards/uid/ops-a",
        "/api/dashboards/uid/ops-b",
    }
    assert all(r["auth"] == f"Bearer {grafana.token}" for r in grafana.requests)

    manifest = json.loads(members.pop("manifest.json"))
    listed = {entry["path"]: entry for entry in manifest["files"]}
    assert set(listed) == set(members)
    for name, data in members.items():
        assert listed[name]["sha256"] == hashlib.sha256(data).hexdigest(), name
        assert listed[name]["bytes"] == len(data)

    everything = b"".join(members.values()) + archive.read_bytes()
    for secret in [*SECRET_VALUES.values(), PROMETHEUS_PASSWORD, grafana.token]:
        assert secret.encode() not in b"".join(members.values()), secret
    assert grafana.token.encode() not in everything


def test_unreachable_live_parts_still_back_up_the_files(tmp_path: Path) -> None:
    env = LiveStack(tmp_path).service_env(
        SYNTHDATA_PROMETHEUS_URL="http://127.0.0.1:9",
        SYNTHDATA_ALERTMANAGER_URL="http://127.0.0.1:9",
        SYNTHDATA_GRAFANA_URL="http://127.0.0.1:9",
    )
    output = tmp_path / "backups"
    done = run_script(
        "backup-monitoring-config.sh", "--output", str(output), "--json", env=env, cwd=tmp_path
    )
    assert done.returncode == 3, done.stdout + done.stderr
    no_traceback(done)
    found = findings(done.stdout)
    for name in ("live Prometheus config", "live Alertmanager config", "live Grafana dashboards"):
        assert found[name]["status"] == "unreachable", found[name]
    assert found["archive"]["status"] == "ok"
    members = _members(Path(found["archive"]["data"]["path"]))
    assert "monitoring/prometheus/prometheus.yml" in members
    assert not [name for name in members if name.startswith("live/")]
    listed = {e["path"] for e in json.loads(members["manifest.json"])["files"]}
    assert listed == set(members) - {"manifest.json"}


def test_an_unwritable_output_fails(tmp_path: Path) -> None:
    env = LiveStack(tmp_path).service_env(
        SYNTHDATA_PROMETHEUS_URL="http://127.0.0.1:9",
        SYNTHDATA_ALERTMANAGER_URL="http://127.0.0.1:9",
    )
    occupied = tmp_path / "a-file"
    occupied.write_text("not a folder\n")
    done = run_script(
        "backup-monitoring-config.sh",
        "--output",
        str(occupied / "backups"),
        "--json",
        env=env,
        cwd=tmp_path,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    no_traceback(done)
    archive = findings(done.stdout)["archive"]
    assert archive["status"] == "fail" and "cannot write" in archive["detail"]
