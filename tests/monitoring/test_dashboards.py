"""Grafana dashboards, provisioning and the runbook's dashboard scripts.

Grafana itself cannot run here: the dashboards are checked offline (units, the
`$datasource` variable, `$__rate_interval` windows, every expression parsed by
promql-parser, no drift from the Python definitions), and the scripts talk to a local
HTTP receiver that answers like Grafana's API and records what it was sent.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import promql_parser
import pytest
import yaml

from synthdata.cli.monitoring import app
from synthdata.ops import dashboards as ops
from tests.fixtures.grafana import (
    GRAFANA,
    FakeGrafana,
    runner,
)

REPO = Path(__file__).resolve().parents[2]
DASHBOARD_FILES = sorted((GRAFANA / "dashboards").glob("*.json"))
SENTINEL = dt.timedelta(seconds=1234)  # what $__rate_interval becomes before parsing


def _definitions() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "dashboard_definitions", GRAFANA / "dashboards.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _boards() -> dict[str, dict[str, Any]]:
    return {path.stem: json.loads(path.read_text()) for path in DASHBOARD_FILES}


# -- generation ---------------------------------------------------------------------------
def test_committed_json_is_what_the_definitions_generate() -> None:
    definitions = _definitions()
    assert ops.drift(definitions.DASHBOARDS, definitions.OUTPUT) == [], (
        "run: .venv/bin/python monitoring/grafana/dashboards.py"
    )
    assert {f"{d.uid}.json" for d in definitions.DASHBOARDS} == {p.name for p in DASHBOARD_FILES}


def test_drift_check_notices_an_edit_and_an_extra_file(tmp_path: Path) -> None:
    definitions = _definitions()
    shutil.copytree(GRAFANA / "dashboards", tmp_path, dirs_exist_ok=True)
    edited = tmp_path / "synthdata-business.json"
    edited.write_text(edited.read_text().replace("synthdata_active_users", "synthdata_users"))
    (tmp_path / "stray.json").write_text("{}")
    assert ops.drift(definitions.DASHBOARDS, tmp_path) == ["synthdata-business.json", "stray.json"]
    result = runner.invoke(app, ["generate-dashboards", "--check", "--output-dir", str(tmp_path)])
    assert result.exit_code == 1


def test_the_five_dashboards_and_their_runbook_panels() -> None:
    boards = _boards()
    assert set(boards) == {
        "synthdata-system-overview",
        "synthdata-application",
        "synthdata-infrastructure",
        "synthdata-business",
        "synthdata-security",
    }
    exprs = {uid: " ".join(e for _, e in ops.panel_expressions(b)) for uid, b in boards.items()}
    overview = dict(ops.panel_expressions(boards["synthdata-system-overview"]))
    assert overview["API Request Rate"].startswith("sum by (method) (rate(http_requests_total")
    assert overview["Error Rate"].count("sum(") == 2  # a ratio of sums, not per series
    assert (
        "sum by (le) (rate(http_request_duration_seconds_bucket" in overview["Response Time (p95)"]
    )
    assert "size_class, le" in exprs["synthdata-application"]
    for metric in (
        "kube_pod_container_status_restarts_total",
        "pg_up",
        "redis_up",
        "node_cpu",
        # The runbook's node status, volume, network and query-performance signals.
        "kube_node_status_condition",
        "kubelet_volume_stats_used_bytes",
        "container_network_receive_bytes_total",
        "container_network_receive_errors_total",
        "pg_database_statements_exec_seconds_total",
        "pg_slowest_statements_mean_exec_seconds",
        # The object store: requests by operation and outcome, p95, bytes, up, orphans.
        "sum by (operation, outcome) (rate(synthdata_store_requests_total",
        "sum by (operation, le) (rate(synthdata_store_request_duration_seconds_bucket",
        "synthdata_store_bytes_total",
        "max(synthdata_store_up)",
        "synthdata_store_orphan_objects",
    ):
        assert metric in exprs["synthdata-infrastructure"]
    assert "synthdata_active_users" in exprs["synthdata-business"]
    assert "synthdata_active_users_total" not in " ".join(exprs.values())
    for metric in ("customer_id", "currency", "synthdata_data_processed_bytes_total"):
        assert metric in exprs["synthdata-business"]
    for metric in ("auth_failures_total", "privileged_operations_total", "cert_expiry_seconds"):
        assert metric in exprs["synthdata-security"]
    assert "synthdata_source_requests_per_second" in exprs["synthdata-security"]


# -- what every panel must have ------------------------------------------------------------
@pytest.mark.parametrize("path", DASHBOARD_FILES, ids=lambda p: p.stem)
def test_every_panel_has_a_unit_and_the_datasource_variable(path: Path) -> None:
    board = json.loads(path.read_text())
    variables = {v["name"]: v for v in board["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    panels = list(ops.iter_panels(board))
    assert panels
    for panel in panels:
        assert panel["fieldConfig"]["defaults"]["unit"], panel["title"]
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == "${datasource}"
            assert target["refId"]
    ids = [p["id"] for p in board["panels"]]
    assert len(ids) == len(set(ids))  # Grafana keys panel state by id
    assert ops.lint(board) == []


def _walk(expr: str) -> tuple[list[dt.timedelta], list[str]]:
    """Matrix ranges and function names in `expr`, from promql-parser's AST."""
    ranges: list[dt.timedelta] = []
    calls: list[str] = []

    def visit(node: Any) -> None:
        if isinstance(node, promql_parser.MatrixSelector):
            ranges.append(node.range)
        if isinstance(node, promql_parser.Call):
            calls.append(node.func.name)

    promql_parser.walk(promql_parser.parse(expr), visit)
    return ranges, calls


def _all_expressions() -> list[tuple[str, str, str]]:
    return [
        (uid, title, expr)
        for uid, items in ops.dashboard_expressions().items()
        for title, expr in items
    ]


@pytest.mark.parametrize(
    ("uid", "title", "expr"), _all_expressions(), ids=lambda v: str(v)[:40] if v else ""
)
def test_every_expression_parses_and_every_window_is_the_rate_interval(
    uid: str, title: str, expr: str
) -> None:
    substituted = ops.substitute_variables(expr, {"$__rate_interval": "1234s"})
    assert "$" not in substituted
    ranges, calls = _walk(substituted)  # raises on a parse error
    range_calls = [c for c in calls if c in ops.RANGE_FUNCTIONS]
    assert len(ranges) == len(range_calls), f"{uid}/{title}: {expr}"
    assert all(r == SENTINEL for r in ranges), f"{uid}/{title}: fixed window in {expr}"
    if "histogram_quantile" in calls:
        assert "rate" in calls and re.search(r"sum by \((\w+, )*le\) \(rate\(", expr), expr


def test_checks_refuse_what_the_runbook_got_wrong() -> None:
    for bad in ("rate(http_requests_total[5m]) by (method)",):
        with pytest.raises(ValueError):
            promql_parser.parse(bad)
    board = ops.build(
        ops.Dashboard(
            "t",
            "T",
            (
                ops.Row(
                    "r",
                    (
                        ops.Panel("no unit", "", (ops.Query("up"),)),
                        ops.Panel("fixed", "s", (ops.Query("sum(rate(x[5m]))"),)),
                    ),
                ),
            ),
        )
    )
    problems = ops.lint(board)
    assert any("no unit" in p for p in problems)
    assert any("[5m]" in p for p in problems)
    assert ops.range_windows("increase(a{b=~'c]'}[$__rate_interval]) + rate(d[1h])") == [
        ("increase", "$__rate_interval"),
        ("rate", "1h"),
    ]


def test_expressions_for_the_live_prometheus_check() -> None:
    found = ops.dashboard_expressions()
    assert set(found) == set(_boards())
    assert all(found.values())
    assert sum(map(len, found.values())) == len(_all_expressions())


# -- provisioning and Helm values ---------------------------------------------------------
def test_provisioning_files_and_helm_values_agree() -> None:
    datasources = yaml.safe_load(
        (GRAFANA / "provisioning/datasources/datasources.yaml").read_text()
    )
    providers = yaml.safe_load((GRAFANA / "provisioning/dashboards/synthdata.yaml").read_text())
    values = yaml.safe_load((GRAFANA / "grafana-values.yaml").read_text())
    assert datasources["apiVersion"] == 1 and providers["apiVersion"] == 1
    by_uid = {d["uid"]: d for d in datasources["datasources"]}
    assert by_uid[ops.DEFAULT_DATASOURCE_UID]["type"] == "prometheus"
    assert by_uid["synthdata-logs"]["jsonData"]["index"] == "synthdata-logs"
    assert sum(bool(d.get("isDefault")) for d in datasources["datasources"]) == 1
    for source in datasources["datasources"]:
        assert {"name", "type", "access", "url"} <= set(source)
    provider = providers["providers"][0]
    assert provider["type"] == "file" and provider["options"]["path"]
    # The keys the grafana/grafana chart reads.
    assert values["datasources"]["datasources.yaml"] == datasources
    chart_providers = values["dashboardProviders"]["dashboardproviders.yaml"]["providers"]
    assert provider in chart_providers
    assert provider["options"]["path"].endswith("/" + provider["name"])  # chart mount path
    assert values["dashboardsConfigMaps"][provider["name"]]
    for provider_name, boards in values.get("dashboards", {}).items():
        assert provider_name in {p["name"] for p in chart_providers}
        assert all("gnetId" in b or "json" in b or "url" in b for b in boards.values())
    assert values["admin"]["existingSecret"]


# -- Grafana HTTP API, against a recording receiver (tests/fixtures/grafana.py) ----------
def _env(grafana: FakeGrafana, token: str | None = None) -> dict[str, str]:
    return {"SYNTHDATA_GRAFANA_URL": grafana.url, "GRAFANA_TOKEN": token or grafana.token}


def test_import_file_posts_the_dashboard_with_overwrite_and_bearer_token(
    grafana: FakeGrafana,
) -> None:
    path = GRAFANA / "dashboards" / "synthdata-system-overview.json"
    result = runner.invoke(app, ["import-dashboard", "--file", str(path)], env=_env(grafana))
    assert result.exit_code == 0, result.output
    (post,) = grafana.requests
    assert post["method"] == "POST" and post["path"] == "/api/dashboards/db"
    assert post["auth"] == "Bearer glsa_test"
    assert post["body"]["overwrite"] is True
    expected = json.loads(path.read_text())
    assert post["body"]["dashboard"] == {**expected, "id": None}
    assert "synthdata-system-overview" in result.output

    # Again: the same uid is replaced (version 2), never duplicated.
    again = runner.invoke(app, ["import-dashboard", "--file", str(path)], env=_env(grafana))
    assert again.exit_code == 0 and "version 2" in again.output
    refused = runner.invoke(
        app, ["import-dashboard", "--file", str(path), "--no-overwrite"], env=_env(grafana)
    )
    assert refused.exit_code == 2
    assert grafana.requests[-1]["body"]["overwrite"] is False


def test_import_by_grafana_com_id_binds_the_datasource_and_title(grafana: FakeGrafana) -> None:
    grafana.gnet[7249] = {
        "__inputs": [{"name": "DS_PROMETHEUS", "type": "datasource", "pluginId": "prometheus"}],
        "__requires": [{"type": "grafana", "id": "grafana"}],
        "uid": "rYdddlPWk",
        "id": 12,
        "title": "Imported",
        "panels": [{"type": "timeseries", "datasource": {"uid": "${DS_PROMETHEUS}"}}],
    }
    result = runner.invoke(
        app,
        ["import-dashboard", "--id", "7249", "--title", "Node Exporter Full"],
        env=_env(grafana),
    )
    assert result.exit_code == 0, result.output
    fetch, post = grafana.requests
    assert (fetch["method"], fetch["path"]) == ("GET", "/api/gnet/dashboards/7249")
    board = post["body"]["dashboard"]
    assert board["title"] == "Node Exporter Full"
    assert board["panels"][0]["datasource"]["uid"] == ops.DEFAULT_DATASOURCE_UID
    assert "__inputs" not in board and board["id"] is None
    assert post["body"]["overwrite"] is True

    missing = runner.invoke(app, ["import-dashboard", "--id", "1"], env=_env(grafana))
    assert missing.exit_code == 2
    assert "404" in missing.output


def test_import_reports_grafana_refusals_and_usage_errors(grafana: FakeGrafana) -> None:
    path = str(GRAFANA / "dashboards" / "synthdata-security.json")
    bad_token = runner.invoke(app, ["import-dashboard", "-f", path], env=_env(grafana, "wrong"))
    assert bad_token.exit_code == 2 and "401" in bad_token.output
    neither = runner.invoke(app, ["import-dashboard"], env=_env(grafana))
    assert neither.exit_code == 2
    no_url = runner.invoke(
        app, ["import-dashboard", "-f", path], env={"SYNTHDATA_GRAFANA_URL": "", "GRAFANA_URL": ""}
    )
    assert no_url.exit_code == 2 and "SYNTHDATA_GRAFANA_URL" in no_url.output


def test_backup_writes_every_dashboard_across_pages_and_restores(
    grafana: FakeGrafana, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for path in DASHBOARD_FILES:
        board = json.loads(path.read_text())
        grafana.dashboards[board["uid"]] = {**board, "version": 3}
    monkeypatch.setattr(ops.GrafanaClient, "PAGE", 2)  # 5 dashboards: three pages
    output = tmp_path / "backup" / "grafana-dashboards-20240101.json"
    result = runner.invoke(app, ["backup-dashboards", "--output", str(output)], env=_env(grafana))
    assert result.exit_code == 0, result.output
    searches = [r for r in grafana.requests if r["path"] == "/api/search"]
    assert [r["query"]["page"] for r in searches] == [["1"], ["2"], ["3"]]
    assert all(r["query"]["type"] == ["dash-db"] for r in searches)
    assert all(r["auth"] == "Bearer glsa_test" for r in grafana.requests)
    saved = json.loads(output.read_text())
    assert {e["uid"] for e in saved["dashboards"]} == set(grafana.dashboards)
    for entry in saved["dashboards"]:
        assert entry["dashboard"] == grafana.dashboards[entry["uid"]]
        assert entry["folderUid"] == "f1"

    grafana.requests.clear()
    restore = runner.invoke(app, ["import-dashboard", "--file", str(output)], env=_env(grafana))
    assert restore.exit_code == 0, restore.output
    assert len(grafana.requests) == len(DASHBOARD_FILES)


def test_generate_from_template_writes_linted_dashboards(tmp_path: Path) -> None:
    template = GRAFANA / "templates" / "service-dashboard.json"
    result = runner.invoke(
        app,
        ["generate-dashboards", "--template", str(template), "--output-dir", str(tmp_path)],
    )
    assert result.exit_code == 0, result.output
    written = sorted(p.name for p in tmp_path.glob("*.json"))
    assert written == ["service-synthdata-api.json", "service-synthdata-worker.json"]
    board = json.loads((tmp_path / "service-synthdata-worker.json").read_text())
    assert ops.lint(board) == []
    for _, expr in ops.panel_expressions(board):
        assert 'job="synthdata-worker"' in expr
        _walk(ops.substitute_variables(expr))
    broken = tmp_path / "broken.json"
    broken.write_text(
        json.dumps(
            {
                "uid": "x",
                "title": "x",
                "services": ["a"],
                "rows": [
                    {"title": "r", "panels": [{"title": "p", "unit": "s", "expr": "rate(x[5m])"}]}
                ],
            }
        )
    )
    refused = runner.invoke(
        app, ["generate-dashboards", "--template", str(broken), "--output-dir", str(tmp_path)]
    )
    assert refused.exit_code == 2 and "[5m]" in refused.output


def test_runbook_scripts_pass_their_flags_to_the_commands(
    grafana: FakeGrafana, tmp_path: Path
) -> None:
    # Until `synthdata monitoring` is attached, a shim stands in for the `synthdata` binary.
    shim = tmp_path / "synthdata"
    shim.write_text(
        f'#!/bin/sh\n[ "$1" = monitoring ] || exit 64\nshift\n'
        f'exec "{sys.executable}" -m synthdata.cli.monitoring "$@"\n'
    )
    shim.chmod(0o755)
    env = {**os.environ, **_env(grafana), "SYNTHDATA_BIN": str(shim)}

    def run(script: str, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(REPO / "scripts" / script), *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    path = GRAFANA / "dashboards" / "synthdata-application.json"
    imported = run("import-dashboard.sh", "--file", str(path))
    assert imported.returncode == 0, imported.stderr
    assert grafana.requests[-1]["body"]["dashboard"]["uid"] == "synthdata-application"
    output = tmp_path / "backup.json"
    backed_up = run("backup-dashboards.sh", "--output", str(output))
    assert backed_up.returncode == 0, backed_up.stderr
    assert [e["uid"] for e in json.loads(output.read_text())["dashboards"]] == [
        "synthdata-application"
    ]
    checked = run("generate-dashboards.sh", "--check")
    assert checked.returncode == 0, checked.stderr
