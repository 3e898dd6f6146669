"""The local stack's configuration follows the service's: exporter jobs and their alerts
only for the PostgreSQL and Redis it uses, and one incident-webhook token for the API
and Alertmanager. Checked on the real rendered files with promtool and amtool; the
processes are in test_quiet_install.py.
"""

from __future__ import annotations

import multiprocessing
import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from synthdata.ops import monitoring_stack as stack
from synthdata.ops.monitoring_config import render_rule_files
from synthdata.ops.monitoring_secrets import incident_webhook_token
from synthdata.service.core.settings import Settings
from synthdata.service.core.webhook_token import ensure_token
from tests.fixtures.monitoring import MONITORING, Tools, tools  # noqa: F401

POSTGRES = "postgresql+psycopg://synthdata@127.0.0.1:5432/synthdata"
REDIS = "redis://127.0.0.1:6379/0"
EXPORTER_JOBS = {"postgres-exporter", "redis-exporter"}


@pytest.fixture(autouse=True)
def _new_users_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No SYNTHDATA_* variable of the shell running the tests leaks into the settings."""
    for name in [n for n in os.environ if n.startswith("SYNTHDATA_")]:
        monkeypatch.delenv(name)


def _service(home: Path, **values: Any) -> Settings:
    return Settings(_env_file=None, home=home, **values)  # type: ignore[call-arg]


def _alerts(paths: list[Path]) -> set[str]:
    return {
        rule["alert"]
        for path in paths
        for group in yaml.safe_load(path.read_text())["groups"]
        for rule in group["rules"]
        if "alert" in rule
    }


def _selects(paths: list[Path], job: str) -> list[str]:
    """Rules whose expression selects `job`."""
    return [
        rule.get("alert") or rule["record"]
        for path in paths
        for group in yaml.safe_load(path.read_text())["groups"]
        for rule in group["rules"]
        if f'job="{job}"' in rule["expr"]
    ]


def test_the_embedded_default_scrapes_and_alerts_on_no_exporter_it_lacks(
    tmp_path: Path,
    tools: Tools,  # noqa: F811
) -> None:
    options = stack.StackOptions.for_service(_service(tmp_path / "home"))
    assert options.redis_url is None and options.database_url.startswith("sqlite")
    config = stack.local_prometheus_config(options, MONITORING)
    jobs = {job["job_name"] for job in config["scrape_configs"]}
    assert "synthdata-api" in jobs and not jobs & EXPORTER_JOBS, jobs

    unused = stack.unused_jobs(options)
    assert set(unused) == EXPORTER_JOBS
    rendered, left_out = render_rule_files(MONITORING, tmp_path / "rules", unused)
    shipped = stack.rule_files(MONITORING)
    for job in EXPORTER_JOBS:
        assert _selects(shipped, job), f"no shipped rule selects {job}: nothing to test"
        assert _selects(rendered, job) == []
    assert {"DatabaseConnectionFailure", "RedisConnectionFailure"} <= set(left_out)
    # Everything else is loaded as shipped.
    assert _alerts(rendered) == _alerts(shipped) - set(left_out)
    assert "APIDown" in _alerts(rendered)
    checked = tools.run([tools.promtool, "check", "rules", *map(str, rendered)])
    assert checked.returncode == 0, checked.stdout + checked.stderr
    # The same groups as everywhere (some possibly empty).
    assert [yaml.safe_load(p.read_text())["groups"][0]["name"] for p in rendered] == [
        yaml.safe_load(p.read_text())["groups"][0]["name"] for p in shipped
    ]


def test_postgresql_and_redis_keep_their_exporter_jobs_and_alerts(tmp_path: Path) -> None:
    service = _service(tmp_path / "home", database_url=POSTGRES, redis_url=REDIS)
    options = stack.StackOptions.for_service(service)
    config = stack.local_prometheus_config(options, MONITORING)
    assert {job["job_name"] for job in config["scrape_configs"]} >= EXPORTER_JOBS
    assert stack.unused_jobs(options) == {}
    rendered, left_out = render_rule_files(MONITORING, tmp_path / "rules", {})
    assert left_out == []
    assert _alerts(rendered) == _alerts(stack.rule_files(MONITORING))
    # An explicit --database-url wins over the service's settings.
    sqlite = stack.StackOptions.for_service(service, database_url="sqlite:///x.db")
    assert set(stack.unused_jobs(sqlite)) == {"postgres-exporter"}


def test_a_recorded_series_left_out_takes_its_readers_along() -> None:
    documents = {
        "a.yml": {
            "groups": [
                {
                    "name": "g",
                    "rules": [
                        {"record": "job:pg:ratio", "expr": 'sum(pg_x{job="postgres-exporter"})'},
                        {"alert": "ReadsIt", "expr": "job:pg:ratio > 1"},
                        {"alert": "ReadsAnother", "expr": "job:pg:ratio_other > 1"},
                    ],
                }
            ]
        }
    }
    kept, left_out = stack.rules_for_jobs(documents, {"postgres-exporter"})
    assert left_out == ["job:pg:ratio", "ReadsIt"]
    assert [r["alert"] for r in kept["a.yml"]["groups"][0]["rules"]] == ["ReadsAnother"]


def test_a_server_started_first_knows_the_token_monitoring_up_creates(tmp_path: Path) -> None:
    server = _service(tmp_path / "home")  # the server's settings, read before the file exists
    assert server.alert_webhook_token == ""
    token, origin = incident_webhook_token(_service(tmp_path / "home"))
    assert token and "created in" in origin
    assert server.alert_webhook_token == token  # no restart needed
    path = server.alert_webhook_token_file
    assert path.stat().st_mode & 0o077 == 0 and path.parent.stat().st_mode & 0o077 == 0
    # A second `up` (or one started first) uses the same token.
    assert incident_webhook_token(_service(tmp_path / "home"))[0] == token
    # The variable, when set, wins on both ends.
    assert incident_webhook_token(_service(tmp_path / "home", alert_webhook_token="t"))[0] == "t"


def _ensure(path: str) -> str:
    return ensure_token(Path(path))


def test_processes_creating_the_token_at_once_agree(tmp_path: Path) -> None:
    path = tmp_path / "home" / "secrets" / "alert-webhook-token"
    with multiprocessing.get_context("spawn").Pool(6) as pool:
        tokens = pool.map(_ensure, [str(path)] * 24)
    assert len(set(tokens)) == 1 and tokens[0] == path.read_text().strip()
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]  # no temporary left


def test_a_webhook_turned_off_gets_no_calls_from_alertmanager(
    tmp_path: Path,
    tools: Tools,  # noqa: F811
) -> None:
    service = _service(tmp_path / "home", alert_webhook_token="")
    token, origin = incident_webhook_token(service)
    assert token is None and "refuses" in origin
    options = stack.StackOptions.for_service(service, api_url="http://127.0.0.1:18000")
    text = stack.local_alertmanager_config(options, MONITORING, tmp_path, incident_webhook=False)
    assert "/api/v1/alerts/webhook" not in text
    config = tmp_path / "alertmanager.yml"
    config.write_text(text)
    checked = tools.run([tools.amtool, "check-config", str(config)])
    assert checked.returncode == 0, checked.stdout + checked.stderr
    routing = yaml.safe_load(text)
    shipped = yaml.safe_load((MONITORING / "alertmanager" / "alertmanager.yml").read_text())
    assert routing["route"] == shipped["route"]
    assert [r["name"] for r in routing["receivers"]] == [r["name"] for r in shipped["receivers"]]
