"""What the SLO and queue rules count, and what their long windows cost (issue 14, item 10).

- The SLO ratios count user requests only: Prometheus's /metrics scrapes and the
  kubelet's /healthz and /readyz probes are excluded by the route templates the
  service really records (checked against the real app's /metrics).
- No rule re-reads raw counters over more than an hour: longer windows are built from
  recorded 5-minute rates, and day-long windows are evaluated at most once a minute.
- The queue length is read from the queue by every replica: rules and panels take the
  max, never the sum.
- Node-wide alerts do not claim to be about one of our services.

The promtool cases in `monitoring/prometheus/rules/*_tests.yml` check the values; these
tests check the shape of every rule, so that a new rule cannot slip back.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import promql_parser
import yaml
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from synthdata.service import observe
from synthdata.service.app import create_app
from synthdata.service.core.settings import Settings
from tests.fixtures.monitoring import MONITORING, RULES_DIR

# The exclusion every SLO selector carries (availability.yml, latency.yml).
NOT_USER_TRAFFIC = "/metrics|/healthz|/readyz"
SLO_FILES = ("availability.yml", "latency.yml")
# Raw series the SLO ratios are computed from.
REQUEST_METRICS = re.compile(
    r"^(http_requests_total|http_request_duration_seconds_(bucket|count)"
    r"|synthdata_http_requests_shed_total)$"
)
ONE_HOUR = dt.timedelta(hours=1)
ONE_DAY = dt.timedelta(days=1)


def groups(names: tuple[str, ...] | None = None) -> Iterator[tuple[Path, dict[str, Any]]]:
    for path in sorted(RULES_DIR.glob("*.yml")):
        if path.stem.endswith("_tests") or (names and path.name not in names):
            continue
        for group in yaml.safe_load(path.read_text())["groups"]:
            yield path, group


def selectors(expr: str) -> Iterator[tuple[promql_parser.VectorSelector, dt.timedelta | None]]:
    """Every series selector of `expr`, with its range when it is a range selector."""
    found: list[tuple[promql_parser.VectorSelector, dt.timedelta | None]] = []

    def visit(node: Any) -> None:
        if isinstance(node, promql_parser.MatrixSelector):
            found.append((node.vector_selector, node.range))
        elif isinstance(node, promql_parser.VectorSelector):
            found.append((node, None))

    promql_parser.walk(promql_parser.parse(expr), visit)
    # A range selector's vector selector may be visited on its own as well.
    ranged = {id(s) for s, r in found if r is not None}
    return iter([(s, r) for s, r in found if r is not None or id(s) not in ranged])


def matchers(selector: promql_parser.VectorSelector) -> set[tuple[str, str, str]]:
    return {(m.name, str(m.op), m.value) for m in selector.matchers.matchers}


def _seconds(interval: str) -> float:
    return promql_parser.parse_duration(interval).total_seconds()


# -- user traffic only ----------------------------------------------------------------------
def test_every_slo_selector_excludes_probes_and_scrapes() -> None:
    checked = 0
    for _, group in groups(SLO_FILES):
        for rule in group["rules"]:
            name = rule.get("record") or rule["alert"]
            if name.startswith("job_endpoint:"):
                continue  # per route: the probes are their own series there
            for selector, _ in selectors(rule["expr"]):
                if selector.name and REQUEST_METRICS.match(selector.name):
                    assert ("endpoint", "MatchOp.NotRe", NOT_USER_TRAFFIC) in matchers(selector), (
                        f"{name}: {selector.name} counts probes and scrapes"
                    )
                    checked += 1
    assert checked >= 6, "the SLO rules no longer read the request metrics"


def test_every_slo_ratio_is_built_from_the_user_traffic_records() -> None:
    for _, group in groups(SLO_FILES):
        for rule in group["rules"]:
            if ":ratio_rate" not in rule.get("record", ""):
                continue
            names = {s.name for s, _ in selectors(rule["expr"])}
            assert names and all(n.startswith("job:slo_") for n in names), rule["record"]


def test_the_excluded_routes_are_the_templates_the_service_records(tmp_path: Path) -> None:
    """The real app's /metrics labels probes and scrapes exactly as the rules exclude them."""
    settings = Settings(
        environment="test",
        database_url=f"sqlite:///{tmp_path / 'db.sqlite'}",
        data_dir=str(tmp_path / "data"),
        metrics_token="scrape-token",
        metrics_cache_seconds=0,  # the second scrape must see the first
    )
    scrape = {"Authorization": "Bearer scrape-token"}
    with TestClient(create_app(settings, workers=0, hooks=[observe.install])) as client:
        assert client.get("/healthz").status_code == 200
        client.get("/readyz")
        assert client.get("/api/v1/jobs").status_code in (401, 403)
        assert client.get("/metrics", headers=scrape).status_code == 200
        exposition = client.get("/metrics", headers=scrape).text
    endpoints = {
        sample.labels["endpoint"]
        for family in text_string_to_metric_families(exposition)
        if family.name == "http_requests"
        for sample in family.samples
        if sample.name == "http_requests_total"
    }
    excluded = {e for e in endpoints if re.fullmatch(NOT_USER_TRAFFIC, e)}
    assert excluded == {"/metrics", "/healthz", "/readyz"}, endpoints
    assert "/api/v1/jobs" in endpoints - excluded


# -- the cost of long windows -----------------------------------------------------------------
def test_no_rule_reads_raw_series_over_more_than_an_hour() -> None:
    for path, group in groups():
        for rule in group["rules"]:
            for selector, window in selectors(rule["expr"]):
                if window is not None and window > ONE_HOUR:
                    assert ":" in (selector.name or ""), (
                        f"{path.name} {rule.get('record') or rule.get('alert')}: "
                        f"{selector.name}[{window}] re-reads raw series; use a recorded rate"
                    )


def test_day_long_windows_are_evaluated_at_most_once_a_minute() -> None:
    slow_groups = 0
    for path, group in groups():
        days = [
            rule.get("record") or rule["alert"]
            for rule in group["rules"]
            if any(w is not None and w >= ONE_DAY for _, w in selectors(rule["expr"]))
        ]
        if days:
            slow_groups += 1
            assert _seconds(group.get("interval", "15s")) >= 60, (
                f"{path.name} {group['name']}: {days} run every 15 s"
            )
    assert slow_groups == 2  # availability and latency


# -- the queue --------------------------------------------------------------------------------
def _queue_aggregations(expr: str) -> list[str]:
    """The aggregation applied directly to each synthdata_generation_queue_length selector."""
    found: list[str] = []

    def visit(node: Any) -> None:
        if isinstance(node, promql_parser.AggregateExpr):
            inner = node.expr
            while isinstance(inner, promql_parser.ParenExpr):
                inner = inner.expr
            if (
                isinstance(inner, promql_parser.VectorSelector)
                and inner.name == "synthdata_generation_queue_length"
            ):
                found.append(str(node.op))

    promql_parser.walk(promql_parser.parse(expr), visit)
    return found


def _dashboard_queue_panels() -> list[tuple[str, dict[str, Any], str]]:
    from synthdata.ops import dashboards

    found = []
    for path in sorted((MONITORING / "grafana" / "dashboards").glob("*.json")):
        for panel in dashboards.iter_panels(json.loads(path.read_text())):
            for target in panel.get("targets") or []:
                if "synthdata_generation_queue_length" in target.get("expr", ""):
                    found.append((path.stem, panel, target["expr"]))
    return found


def test_the_queue_length_is_the_max_over_replicas_never_the_sum() -> None:
    exprs = [
        rule["expr"]
        for _, group in groups()
        for rule in group["rules"]
        if "synthdata_generation_queue_length" in rule["expr"]
    ]
    panels = _dashboard_queue_panels()
    assert exprs and panels
    for expr in exprs + [e for _, _, e in panels]:
        aggregations = _queue_aggregations(expr)
        occurrences = len(re.findall(r"synthdata_generation_queue_length", expr))
        assert aggregations and set(aggregations) == {"max"}, expr
        assert len(aggregations) == occurrences, f"a bare queue length in {expr}"


def test_queue_panels_count_messages_not_jobs() -> None:
    """The queue holds one message per job phase and chunk: 'jobs queued' overstates."""
    for uid, panel, _ in _dashboard_queue_panels():
        shown = [panel["title"], *(t.get("legendFormat", "") for t in panel["targets"])]
        for text in shown:
            assert not re.search(r"\bjobs?\b", text, re.I), f"{uid}: {text!r}"
        assert "message" in panel["title"] + panel.get("description", ""), uid
        assert "message" in panel.get("description", ""), f"{uid}: {panel['title']}"


# -- labels -----------------------------------------------------------------------------------
NODE_WIDE = re.compile(r"^(node_|kube_node_|kubelet_volume_)")


def test_node_wide_alerts_are_labelled_infrastructure() -> None:
    seen = set()
    for _, group in groups():
        for rule in group["rules"]:
            if "alert" not in rule:
                continue
            names = {s.name for s, _ in selectors(rule["expr"]) if s.name}
            if any(NODE_WIDE.match(n) for n in names):
                seen.add(rule["alert"])
                assert rule["labels"]["service"] == "infrastructure", rule["alert"]
                assert rule["labels"]["component"], rule["alert"]
    assert {"HighDiskUsage", "NodeNotReady", "PersistentVolumeUsageHigh"} <= seen
