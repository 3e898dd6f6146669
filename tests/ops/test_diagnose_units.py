"""The diagnosis commands' parts that need no running service: windows, the config digest,
recording a start (SQLite and PostgreSQL), thresholds and queries kept equal to the
shipped rules and saved log query."""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select
from typer.testing import CliRunner

import synthdata
from synthdata.cli.main import app
from synthdata.ops import diagnose
from synthdata.ops.logs import error_query, levels_from, saved_error_query
from synthdata.ops.resources import PROMETHEUS_FIGURES
from synthdata.ops.timeparse import duration_text, parse_duration, parse_window
from synthdata.service.core.db import make_engine, make_session_factory, session_scope
from synthdata.service.core.migrate import upgrade_head
from synthdata.service.core.settings import Settings
from synthdata.service.deployments.models import Deployment
from synthdata.service.deployments.service import (
    config_digest,
    public_settings,
    record_process_start,
    record_start,
)
from tests.databases import scratch_postgres

RULES = Path(__file__).resolve().parents[2] / "monitoring" / "prometheus" / "rules"


# -- windows and levels ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected", "printed"),
    [
        ("30m", timedelta(minutes=30), "30m"),
        ("4h", timedelta(hours=4), "4h"),
        (" 7d ", timedelta(days=7), "7d"),
        ("90s", timedelta(seconds=90), "90s"),
        ("2w", timedelta(weeks=2), "14d"),
        ("1h30m", timedelta(minutes=90), "90m"),
        ("1.5h", timedelta(minutes=90), "90m"),
        ("500ms", timedelta(milliseconds=500), "500ms"),
        ("1.5s", timedelta(milliseconds=1500), "1500ms"),
        ("1y", timedelta(days=365), "365d"),
    ],
)
def test_durations_parse_and_print_back_exactly(
    text: str, expected: timedelta, printed: str
) -> None:
    assert parse_duration(text) == expected
    assert duration_text(expected) == printed
    assert parse_duration(printed) == expected


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("4x", "is not a duration"),
        ("", "is not a duration"),
        ("h", "is not a duration"),
        ("-1h", "is not a duration"),
        ("4 hours", "is not a duration"),
        ("4 h", "is not a duration"),
        ("1h30", "is not a duration"),
        ("1e3s", "is not a duration"),
        ("10M", "is not a duration"),  # not months, not minutes: refused
        ("0h", "more than zero"),
        ("30m1h", "largest unit first"),
        ("1h1h", "largest unit first"),
        ("0.5ms", "whole number of milliseconds"),
        ("0.0001ms", "whole number of milliseconds"),
        ("99999999999d", "too long"),
    ],
)
def test_bad_durations_are_refused_with_the_reason(text: str, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        parse_duration(text)


def test_windows_are_whole_seconds() -> None:
    assert parse_window("1m30s") == timedelta(seconds=90)
    for text in ("500ms", "1.5s"):
        with pytest.raises(ValueError, match="whole number of seconds"):
            parse_window(text)


@pytest.mark.parametrize(
    "args",
    [
        ["check-recent-deployments", "--last", "4x"],
        ["check-error-logs", "--last", "yesterday"],
        ["check-error-logs", "--level", "LOUD"],
    ],
)
def test_bad_options_are_usage_errors(args: list[str]) -> None:
    result = CliRunner().invoke(app, ["ops", *args])
    assert result.exit_code == 2
    assert "Invalid value" in result.output
    assert "4h" in result.output or "CRITICAL" in result.output  # says what is expected


def test_a_level_means_that_level_and_above() -> None:
    assert levels_from("ERROR") == ["ERROR", "CRITICAL"]
    assert levels_from("warn") == ["WARNING", "ERROR", "CRITICAL"]
    with pytest.raises(ValueError, match="unknown level"):
        levels_from("LOUD")


# -- the configuration digest ---------------------------------------------------------------------
def _settings(tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "environment": "test",
        "database_url": "postgresql+psycopg://app:first-password@db.internal:5432/synthdata",
        "redis_url": "redis://:redis-secret@cache.internal:6379/0",
        "data_dir": tmp_path / "data",
        "alert_webhook_token": "token-one",
        "pagerduty_routing_key": "routing-one",
        "slack_webhook_url": "https://hooks.slack.com/services/T000/B000/secret-one",
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.mark.parametrize(
    "secret",
    [
        {"alert_webhook_token": "token-two"},
        {"pagerduty_routing_key": "routing-two"},
        {"slack_webhook_url": "https://hooks.slack.com/services/T000/B000/secret-two"},
        {"database_url": "postgresql+psycopg://app:second-password@db.internal:5432/synthdata"},
        {"redis_url": "redis://:another-secret@cache.internal:6379/0"},
    ],
)
def test_changing_a_secret_keeps_the_digest(tmp_path: Path, secret: dict[str, str]) -> None:
    assert config_digest(_settings(tmp_path, **secret)) == config_digest(_settings(tmp_path))


@pytest.mark.parametrize(
    "change",
    [
        {"job_chunk_rows": 500_000},
        {"rate_limit_per_key": 10},
        {"database_url": "postgresql+psycopg://app:first-password@db2.internal:5432/synthdata"},
        {"queue": "redis"},
    ],
)
def test_changing_a_setting_changes_the_digest(tmp_path: Path, change: dict[str, Any]) -> None:
    assert config_digest(_settings(tmp_path, **change)) != config_digest(_settings(tmp_path))


def test_no_secret_reaches_the_digested_settings(tmp_path: Path) -> None:
    public = json.dumps(public_settings(_settings(tmp_path)))
    for secret in ("first-password", "redis-secret", "token-one", "routing-one", "secret-one"):
        assert secret not in public
    assert "db.internal" in public and "cache.internal" in public  # the rest is kept


# -- recording a start -----------------------------------------------------------------------------
@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'synthdata.db'}"
        return
    with scratch_postgres(f"synthdata_diag_{secrets.token_hex(4)}") as url:
        yield url


def test_record_start_inserts_the_row(database_url: str, tmp_path: Path) -> None:
    import os
    import socket

    upgrade_head(database_url)
    settings = _settings(tmp_path, database_url=database_url)
    engine = make_engine(database_url)
    try:
        sessions = make_session_factory(engine)
        with session_scope(sessions) as session:
            record_start(session, "worker", settings=settings)
        record_process_start(sessions, "api", settings=settings)
        with session_scope(sessions) as session:
            rows = list(session.scalars(select(Deployment).order_by(Deployment.id)))
    finally:
        engine.dispose()
    assert [r.component for r in rows] == ["worker", "api"]
    for row in rows:
        assert row.version == synthdata.__version__
        assert row.config_digest == config_digest(settings)
        assert len(row.config_digest) == 64
        assert row.host == socket.gethostname()
        assert row.pid == os.getpid()
    assert rows[0].started_at <= rows[1].started_at
    with pytest.raises(ValueError, match="unknown component"):
        record_start(None, "cron", settings=settings)  # type: ignore[arg-type]


def test_a_start_that_cannot_be_recorded_does_not_stop_the_process(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"sqlite:///{tmp_path / 'never-migrated.db'}"  # no deployments table
    engine = make_engine(url)
    try:
        with caplog.at_level(logging.WARNING, logger="synthdata.service"):
            record_process_start(make_session_factory(engine), "api", settings=_settings(tmp_path))
    finally:
        engine.dispose()
    assert "start of api not recorded" in caplog.text


# -- kept equal to the shipped rules and saved query --------------------------------------
def _rules() -> dict[str, str]:
    exprs: dict[str, str] = {}
    for path in RULES.glob("*.yml"):
        if path.name.endswith("_tests.yml"):
            continue
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                if "alert" in rule:
                    exprs[rule["alert"]] = " ".join(rule["expr"].split())
    return exprs


def test_thresholds_are_the_alerts_thresholds() -> None:
    rules = _rules()
    assert rules["HighCPUUtilization"].endswith(f"> {diagnose.CPU_THRESHOLD}")
    assert rules["HighMemoryUtilization"].endswith(f"> {diagnose.MEMORY_THRESHOLD}")
    assert rules["HighDiskUsage"].endswith(f"> {diagnose.DISK_THRESHOLD}")
    assert rules["GenerationQueueBacklog"].endswith(f"> {diagnose.QUEUE_BACKLOG}")
    minutes = int(diagnose.QUEUE_STALLED.total_seconds() // 60)
    assert f"[{minutes}m]" in rules["GenerationQueueStalled"]


def test_prometheus_figures_are_the_alert_expressions() -> None:
    rules = _rules()
    linked = [f for f in PROMETHEUS_FIGURES if f.alert]
    assert {f.alert for f in linked} == {
        "HighCPUUtilization",
        "HighMemoryUtilization",
        "HighDiskUsage",
    }
    for figure in linked:
        assert " ".join(f"{figure.expr} > {figure.threshold}".split()) == rules[figure.alert]


def test_error_query_is_the_saved_query_with_window_and_levels() -> None:
    saved = saved_error_query()
    shipped = json.loads(
        (RULES.parents[1] / "fluent-bit" / "queries" / "errors-last-hour.json").read_text()
    )
    assert saved == shipped
    query = error_query(saved, timedelta(hours=1), ["ERROR", "CRITICAL"])
    must = query["query"]["bool"]["must"]
    assert {"range": {"@timestamp": {"gte": "now-1h"}}} in must
    assert {"terms": {"app.level": ["ERROR", "CRITICAL"]}} in must
    assert query["sort"] == saved["sort"]
    assert saved["query"]["bool"]["must"][1] == {"term": {"app.level": "ERROR"}}  # not mutated
    wider = error_query(saved, timedelta(days=7), ["WARNING", "ERROR", "CRITICAL"])
    assert {"range": {"@timestamp": {"gte": "now-7d"}}} in wider["query"]["bool"]["must"]
