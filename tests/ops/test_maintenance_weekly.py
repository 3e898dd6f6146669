"""`./scripts/monitoring-maintenance.sh --weekly` with a real Prometheus and Alertmanager.

Prometheus loads the shipped rule files (plus one more file the test can fill and
reload) and scrapes itself; Alertmanager runs the shipped configuration. The static
steps run the real promtool and amtool on the repository's monitoring/ folder, or on
a copy with a broken rule file.
"""

from __future__ import annotations

import shutil
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from synthdata.ops.monitoring_stack import rule_files
from tests.fixtures.processes import Prometheus
from tests.ops import live_stack
from tests.ops.live_stack import (
    MONITORING,
    LiveStack,
    findings,
    no_traceback,
    run_script,
)

stack = live_stack.stack
EVALUATION_ERROR = """\
groups:
  - name: broken-at-evaluation
    interval: 1s
    rules:
      # Many series on both sides match on the same labels: many-to-many, refused.
      - record: synthdata:broken:ratio
        expr: >-
          prometheus_http_requests_total
          / ignoring(handler, code) prometheus_http_requests_total
"""


def _live(stack: LiveStack, extra_rules: Path) -> tuple[Prometheus, str]:
    extra_rules.write_text("groups: []\n")
    config = {
        "global": {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"},
        "rule_files": [*map(str, rule_files(MONITORING)), str(extra_rules)],
        "scrape_configs": [{"job_name": "prometheus", "static_configs": [{"targets": ["{self}"]}]}],
    }
    prometheus = stack.prometheus(config, "--web.enable-lifecycle", "--web.enable-admin-api")
    assert prometheus.wait_equal('up{job="prometheus"}', 1) == 1
    return prometheus, stack.alertmanager().url


def _wait_rule_error(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        groups = httpx.get(f"{url}/api/v1/rules", timeout=10).json()["data"]["groups"]
        if any(r.get("health") == "err" for g in groups for r in g["rules"]):
            return
        time.sleep(0.3)
    pytest.fail("the broken rule never failed to evaluate")


@pytest.mark.slow
def test_weekly_is_green_then_names_what_broke(stack: LiveStack, tmp_path: Path) -> None:
    extra = tmp_path / "extra-rules.yml"
    prometheus, alertmanager = _live(stack, extra)
    env = stack.service_env(
        SYNTHDATA_PROMETHEUS_URL=prometheus.url, SYNTHDATA_ALERTMANAGER_URL=alertmanager
    )

    green = run_script("monitoring-maintenance.sh", "--weekly", env=env, cwd=tmp_path)
    assert green.returncode == 0, green.stdout + green.stderr
    done = run_script("monitoring-maintenance.sh", "--weekly", "--json", env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stdout
    found = findings(done.stdout)
    shipped = len(list((MONITORING / "prometheus" / "rules").glob("*_tests.yml")))
    assert found["promtool check rules"]["detail"] == f"{shipped} files pass"
    assert found["promtool test rules"]["detail"] == f"{shipped} files pass"
    for step in ("amtool check-config", "dashboard drift", "dashboard lint", "targets down"):
        assert found[step]["status"] == "ok", found[step]
    assert found["rule evaluation"]["status"] == "ok"
    assert found["TSDB head series"]["data"]["series"] > 0
    top = found["TSDB head series"]["data"]["top_metrics"]  # Prometheus' own, highest first
    assert 0 < len(top) <= 10 and "prometheus_http_request_duration_seconds_bucket" in top
    assert list(top.values()) == sorted(top.values(), reverse=True)
    assert found["silences ending within 7 days"]["status"] == "ok"
    assert found["backup: archive"]["status"] == "ok"
    assert found["backup: live Prometheus config"]["status"] == "ok"
    # A fresh Prometheus holds nothing older than the cutoff: nothing to delete, so the
    # dry run need not ask the admin API.
    assert found["cleanup dry run: deleted"]["status"] == "ok", found
    assert "nothing to delete" in found["cleanup dry run: deleted"]["detail"]
    assert len(list((tmp_path / "var" / "backups" / "monitoring").glob("*.tar.gz"))) >= 1

    # Break things: a rule file that does not parse (in a copy of monitoring/), a rule
    # that fails at evaluation (live), and a silence that ends in two days.
    copy = tmp_path / "monitoring"
    shutil.copytree(MONITORING, copy)
    broken = copy / "prometheus" / "rules" / "api.yml"
    broken.write_text(broken.read_text() + "      - record: synthdata:broken\n        expr: sum(\n")
    extra.write_text(EVALUATION_ERROR)
    assert httpx.post(f"{prometheus.url}/-/reload", timeout=10).status_code == 200
    _wait_rule_error(prometheus.url)
    ends = datetime.now(UTC) + timedelta(days=2)
    silence = {
        "matchers": [{"name": "alertname", "value": "HighErrorRate", "isRegex": False}],
        "startsAt": datetime.now(UTC).isoformat(),
        "endsAt": ends.isoformat(),
        "createdBy": "oncall",
        "comment": "deploy window",
    }
    assert httpx.post(f"{alertmanager}/api/v2/silences", json=silence, timeout=10).is_success

    env = {**env, "SYNTHDATA_MONITORING_DIR": str(copy)}
    runbook = run_script("monitoring-maintenance.sh", "--weekly", env=env, cwd=tmp_path)
    assert runbook.returncode == 1, runbook.stdout + runbook.stderr
    assert "api.yml" in runbook.stdout
    found = findings(
        run_script("monitoring-maintenance.sh", "--weekly", "--json", env=env, cwd=tmp_path).stdout
    )
    check = found["promtool check rules"]
    assert check["status"] == "fail" and check["data"]["files"] == [str(broken.resolve())]
    evaluation = found["rule evaluation"]
    assert evaluation["status"] == "fail"
    assert "broken-at-evaluation/synthdata:broken:ratio" in evaluation["detail"]
    silences = found["silences ending within 7 days"]
    assert silences["status"] == "warn" and "'deploy window'" in silences["detail"]


def test_an_unreachable_stack_exits_3(tmp_path: Path) -> None:
    env = LiveStack(tmp_path).service_env(
        SYNTHDATA_PROMETHEUS_URL="http://127.0.0.1:9",
        SYNTHDATA_ALERTMANAGER_URL="http://127.0.0.1:9",
    )
    done = run_script("monitoring-maintenance.sh", "--weekly", "--json", env=env, cwd=tmp_path)
    assert done.returncode == 3, done.stdout + done.stderr
    no_traceback(done)
    found = findings(done.stdout)
    assert found["promtool check rules"]["status"] == "ok"
    assert found["live Prometheus"]["status"] == "unreachable"
    assert found["live Alertmanager"]["status"] == "unreachable"
    assert found["backup: archive"]["status"] == "ok"

    usage = run_script("monitoring-maintenance.sh", env=env, cwd=tmp_path)
    assert usage.returncode == 2 and "--weekly" in usage.stderr


@pytest.mark.parametrize(
    "script",
    ["monitoring-maintenance.sh", "cleanup-metrics.sh", "backup-monitoring-config.sh"],
)
def test_wrappers_call_their_command(script: str, tmp_path: Path) -> None:
    path = live_stack.REPO / "scripts" / script
    assert path.stat().st_mode & 0o111, f"{script} is not executable"
    done = run_script(script, "--help", env=LiveStack(tmp_path).service_env(), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert f"synthdata ops {script.removesuffix('.sh')}" in " ".join(done.stdout.split())
