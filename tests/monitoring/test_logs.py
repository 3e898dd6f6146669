"""Fluent Bit config and the runbook's saved log queries, against the service's real lines.

Fluent Bit and Elasticsearch cannot run here. Instead: the service runs, its real JSON
log lines are captured, each is turned into the document the pipeline in
`monitoring/fluent-bit/fluent-bit.conf` would index (a small evaluator that reads the
config: CRI line -> `log`, Merge_Log under Merge_Log_Key, Keep_Log, the es output's
Time_Key and Replace_Dots), and the saved queries are evaluated with a matcher for the
clauses they use (bool/must, term, range gte).
"""

from __future__ import annotations

import io
import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient

from synthdata.observability.logging import configure_logging
from synthdata.service import observe
from synthdata.service.app import create_app
from synthdata.service.core.settings import Settings
from tests.fixtures.logs import (
    CONF,
    FLUENT_BIT,
    PARSERS,
    document_field,
    matches,
    parse_sections,
    section,
    to_document,
)

QUERIES = FLUENT_BIT / "queries"


# -- the config (read by tests/fixtures/logs.py) ----------------------------------------
def test_config_has_the_required_keys() -> None:
    service = next(keys for kind, keys in CONF if kind == "SERVICE")
    assert service["parsers_file"] == ["parsers.conf"]
    tail = section(CONF, "INPUT", "tail")
    assert tail["path"] == "/var/log/containers/*.log"
    assert tail["tag"] == "kube.*"
    assert {p.strip() for p in tail["multiline.parser"].split(",")} == {"docker", "cri"}
    kube = section(CONF, "FILTER", "kubernetes")
    assert kube["match"] == "kube.*"
    assert kube["merge_log"] == "On" and kube["merge_log_key"] == "app"
    assert kube["keep_log"] == "Off"
    assert kube["kube_tag_prefix"] == "kube.var.log.containers."
    es = section(CONF, "OUTPUT", "es")
    assert es["match"] == "kube.*"
    assert es["index"] == "synthdata-logs"
    assert es["suppress_type_name"] == "On"  # Elasticsearch 8 refuses _type
    assert es["logstash_format"] == "Off"  # a fixed index, as the queries' URL says
    assert es["replace_dots"] == "On"
    assert "type" not in es
    for name in ("docker", "cri"):
        parser = section(PARSERS, "PARSER", name)
        assert parser["format"] in ("json", "regex")
    assert "(?<log>" in section(PARSERS, "PARSER", "cri")["regex"]


def test_helm_values_carry_the_same_pipeline() -> None:
    values = yaml.safe_load((FLUENT_BIT / "fluent-bit-values.yaml").read_text())
    config = values["config"]
    assert values["kind"] == "DaemonSet"
    chart = parse_sections("\n".join(config[k] for k in ("inputs", "filters", "outputs")))
    assert chart == [s for s in CONF if s[0] != "SERVICE"]
    assert parse_sections(config["customParsers"]) == PARSERS
    chart_service = parse_sections(config["service"])[0][1]
    service = next(keys for kind, keys in CONF if kind == "SERVICE")
    assert {k: v for k, v in chart_service.items() if k != "parsers_file"} == {
        k: v for k, v in service.items() if k != "parsers_file"
    }
    assert chart_service["parsers_file"] == ["/fluent-bit/etc/conf/custom_parsers.conf"]


# -- the real service's lines ---------------------------------------------------------------
@pytest.fixture(scope="module")
def lines(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """JSON lines the service printed for a mix of fast, slow, 4xx and 5xx requests."""
    root = tmp_path_factory.mktemp("logs")
    stream = io.StringIO()
    configure_logging(stream=stream)
    settings = Settings(
        environment="test",
        database_url=f"sqlite:///{root / 'db.sqlite'}",
        data_dir=str(root / "data"),
    )
    app = create_app(settings, workers=0, hooks=[observe.install])

    def slow() -> dict[str, str]:
        time.sleep(1.05)
        return {"status": "slow"}

    def broken() -> None:
        raise RuntimeError("boom")

    app.add_api_route("/test/slow", slow)
    app.add_api_route("/test/broken", broken)
    with TestClient(app, raise_server_exceptions=False) as client:
        assert client.get("/healthz").status_code == 200
        assert client.get("/api/v1/jobs").status_code in (401, 403)
        assert client.get("/test/slow").status_code == 200
        assert client.get("/test/broken").status_code == 500
        assert client.get("/healthz").status_code == 200
    return [line for line in stream.getvalue().splitlines() if line.startswith("{")]


def _documents(lines: list[str], now: datetime) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    return [(json.loads(line), to_document(line, now)) for line in lines]


def _query(name: str) -> dict[str, Any]:
    saved: dict[str, Any] = json.loads((QUERIES / name).read_text())
    return saved


def test_error_query_matches_exactly_the_error_lines(lines: list[str]) -> None:
    now = datetime.now(UTC)
    pairs = _documents(lines, now)
    query = _query("errors-last-hour.json")["query"]
    matched = [raw for raw, doc in pairs if matches(query, doc, now)]
    expected = [raw for raw, _ in pairs if raw.get("level") == "ERROR"]
    assert matched == expected
    assert any(
        r.get("message") == "request" and r.get("http.response.status_code") == 500 for r in matched
    )
    assert all(r.get("http.response.status_code") != 401 for r in matched)  # WARNING
    # A line from two hours ago is outside "the last hour".
    old = to_document(json.dumps(expected[0]), now - timedelta(hours=2))
    assert not matches(query, old, now)


def test_slow_query_matches_exactly_the_slow_requests(lines: list[str]) -> None:
    now = datetime.now(UTC)
    pairs = _documents(lines, now)
    saved = _query("slow-requests.json")
    matched = [raw for raw, doc in pairs if matches(saved["query"], doc, now)]
    expected = [raw for raw, _ in pairs if float(raw.get("response_time", 0)) >= 1000]
    assert matched == expected
    assert [r["url.path"] for r in matched] == ["/test/slow"]
    assert all(r.get("response_time", 0) < 1000 for r, _ in pairs if r not in matched)
    ((sort_field, order),) = saved["sort"][0].items()
    assert order == {"order": "desc"}
    assert all(document_field(doc, sort_field) is not None for raw, doc in pairs if raw in matched)


def test_query_fields_are_mapped_for_their_clauses() -> None:
    """`term` needs a keyword field, `range` a numeric or date one (index-template.json)."""
    template = json.loads((FLUENT_BIT / "index-template.json").read_text())
    assert template["index_patterns"] == ["synthdata-logs"]
    mapping = template["template"]["mappings"]

    def mapped(path: str) -> str:
        node: dict[str, Any] = mapping
        for part in path.split("."):
            node = node["properties"][part]
        return str(node["type"])

    for name in ("errors-last-hour.json", "slow-requests.json"):
        for clause in _query(name)["query"]["bool"]["must"]:
            ((kind, body),) = clause.items()
            ((path, _),) = body.items()
            allowed = {"term": {"keyword"}, "range": {"date", "float", "long", "double"}}[kind]
            assert mapped(path) in allowed, (name, path)
