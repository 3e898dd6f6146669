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
import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient

from synthdata.observability.logging import configure_logging
from synthdata.service import observe
from synthdata.service.app import create_app
from synthdata.service.core.settings import Settings

FLUENT_BIT = Path(__file__).resolve().parents[2] / "monitoring" / "fluent-bit"
QUERIES = FLUENT_BIT / "queries"


# -- the config ---------------------------------------------------------------------------
def parse_sections(text: str) -> list[tuple[str, dict[str, list[str]]]]:
    """Fluent Bit's classic format: `[SECTION]` then `Key Value` lines (keys repeat)."""
    sections: list[tuple[str, dict[str, list[str]]]] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if header := re.fullmatch(r"\[(\w+)\]", line):
            sections.append((header.group(1).upper(), {}))
            continue
        key, _, value = line.partition(" ")
        assert sections, f"key outside a section: {line}"
        sections[-1][1].setdefault(key.lower(), []).append(value.strip())
    return sections


def section(
    sections: list[tuple[str, dict[str, list[str]]]], kind: str, name: str
) -> dict[str, str]:
    found = [keys for k, keys in sections if k == kind and keys.get("name") == [name]]
    assert len(found) == 1, f"expected one [{kind}] {name}"
    return {key: values[-1] for key, values in found[0].items()}


CONF = parse_sections((FLUENT_BIT / "fluent-bit.conf").read_text())
PARSERS = parse_sections((FLUENT_BIT / "parsers.conf").read_text())


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


# -- an evaluator of this pipeline ---------------------------------------------------------
def _replace_dots(value: Any) -> Any:
    if isinstance(value, dict):
        return {key.replace(".", "_"): _replace_dots(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_replace_dots(item) for item in value]
    return value


def to_document(line: str, when: datetime) -> dict[str, Any]:
    """The Elasticsearch document the configured pipeline makes of one printed line."""
    # 1. The container runtime writes the line in CRI form; the cri parser reads it back.
    cri = f"{when.isoformat().replace('+00:00', 'Z')} stdout F {line}"
    pattern = section(PARSERS, "PARSER", "cri")["regex"].replace("(?<", "(?P<")
    match = re.match(pattern, cri)
    assert match, cri
    record: dict[str, Any] = match.groupdict()
    # 2. kubernetes filter: metadata, then Merge_Log of the JSON `log` under Merge_Log_Key.
    kube = section(CONF, "FILTER", "kubernetes")
    record["kubernetes"] = {
        "namespace_name": "synthdata",
        "pod_name": "synthdata-api-0",
        "labels": {"app.kubernetes.io/name": "synthdata-api", "app": "synthdata-api"},
    }
    if kube["merge_log"] == "On":
        merged = json.loads(record["log"])
        if kube.get("merge_log_key"):
            record[kube["merge_log_key"]] = merged
        else:
            record.update(merged)
        if kube.get("keep_log", "On") == "Off":
            del record["log"]
    # 3. es output: the record time under Time_Key, then Replace_Dots on every key.
    es = section(CONF, "OUTPUT", "es")
    time_key = es.get("time_key", "@timestamp")
    assert time_key not in record, "the record already has the es output's time key"
    record[time_key] = when.isoformat()
    return _replace_dots(record) if es.get("replace_dots") == "On" else record


# -- a matcher for the query clauses used ----------------------------------------------------
def _field(document: dict[str, Any], path: str) -> Any:
    if path in document:
        return document[path]
    head, _, rest = path.partition(".")
    if rest and isinstance(document.get(head), dict):
        return _field(document[head], rest)
    return None


def _bound(value: Any, now: datetime) -> Any:
    if isinstance(value, str) and (math := re.fullmatch(r"now(?:-(\d+)([smhd]))?", value)):
        if not math.group(1):
            return now
        unit = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}[math.group(2)]
        return now - timedelta(**{unit: int(math.group(1))})
    return value


def matches(query: dict[str, Any], document: dict[str, Any], now: datetime) -> bool:
    ((kind, body),) = query.items()
    if kind == "bool":
        assert set(body) <= {"must"}, body
        return all(matches(clause, document, now) for clause in body["must"])
    if kind == "term":
        ((path, expected),) = body.items()
        expected = expected["value"] if isinstance(expected, dict) else expected
        return _field(document, path) == expected  # keyword: exact, case-sensitive
    if kind == "range":
        ((path, bounds),) = body.items()
        assert set(bounds) <= {"gte"}, bounds
        value = _field(document, path)
        if value is None:
            return False
        bound = _bound(bounds["gte"], now)
        if isinstance(bound, datetime):
            value = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        return bool(value >= bound)
    raise AssertionError(f"clause {kind} not supported by this matcher")


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
    assert all(_field(doc, sort_field) is not None for raw, doc in pairs if raw in matched)


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
