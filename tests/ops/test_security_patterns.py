"""`./scripts/analyze-access-patterns.sh --period 24h --anomalies` on real access lines.

The lines are the real service's: `synthdata serve` takes requests from several
sources and writes its JSON log. A test cannot wait a day for 24 hours of history,
so the earlier hours are those same lines again with their `@timestamp` moved back
by whole hours (nothing else changes); the last hour is the service's own lines.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from synthdata.ops.timeparse import parse_timestamp
from tests.ops import live_stack
from tests.ops.live_stack import (
    LiveStack,
    admin_key,
    customer_with_key,
    findings,
    no_traceback,
    request,
    run_script,
)

stack = live_stack.stack
CLIENT, OPERATOR, SCANNER, NEWCOMER = "192.0.2.10", "192.0.2.99", "203.0.113.5", "198.51.100.77"
ALL_DAY = ("--business-hours", "00-24", "--business-days", "mon-sun")


def _access_lines(log: Path) -> list[dict[str, Any]]:
    lines = [json.loads(text) for text in log.read_text().splitlines() if text.startswith("{")]
    return [line for line in lines if "http.response.status_code" in line]


def _moved(line: dict[str, Any], hours: int) -> str:
    at = parse_timestamp(line["@timestamp"]) - timedelta(hours=hours)
    return json.dumps({**line, "@timestamp": at.isoformat().replace("+00:00", "Z")})


def _history(lines: list[dict[str, Any]], spike_hours_back: int | None = None) -> list[str]:
    """The lines again for each of the 23 hours before the last, ten times in one of them."""
    out = []
    for hours in range(23, 0, -1):
        copies = 10 if hours == spike_hours_back else 1
        out += [_moved(line, hours) for line in lines for _ in range(copies)]
    return out


def _traffic(stack: LiveStack) -> tuple[dict[str, str], str, str, Path]:
    env = stack.service_env()
    admin = admin_key(env)
    api = stack.serve(env)
    customer, key = customer_with_key(api.url, admin, "acme", OPERATOR)
    for _ in range(6):
        assert request(api.url, "GET", "/api/v1/me", key=key, source=CLIENT).status_code == 200
    for _ in range(3):
        assert request(api.url, "GET", "/api/v1/customers", key=admin, source=OPERATOR).is_success
    for _ in range(2):
        assert request(api.url, "GET", "/api/v1/me", source=SCANNER).status_code == 401
    return env, api.url, customer, Path(env["SYNTHDATA_LOG_FILE"])


@pytest.mark.slow
def test_a_steady_day_has_no_anomalies(stack: LiveStack, tmp_path: Path) -> None:
    env, _, customer, log = _traffic(stack)
    lines = _access_lines(log)
    day = tmp_path / "day.log"
    day.write_text("\n".join(_history(lines) + [json.dumps(line) for line in lines]) + "\n")
    env = {**env, "SYNTHDATA_LOG_FILE": str(day)}

    plain = run_script(
        "analyze-access-patterns.sh", "--period", "24h", "--json", env=env, cwd=tmp_path
    )
    assert plain.returncode == 0, plain.stdout + plain.stderr
    found = findings(plain.stdout)
    assert "volume anomalies" not in found
    hourly = json.loads(plain.stdout)["hourly"]
    assert len(hourly) == 24 and len(set(hourly)) == 1 and hourly[0] == len(lines)
    assert found["top endpoints"]["data"]["top"]["GET /api/v1/me"] == 8 * 24
    assert found["top endpoints"]["data"]["top"]["GET /api/v1/customers"] == 3 * 24
    assert found["top sources"]["data"]["top"][CLIENT] == 6 * 24
    assert found["top sources"]["data"]["top"][SCANNER] == 2 * 24
    assert found["top customers"]["data"]["top"] == {customer: 6 * 24}
    assert found["status mix"]["data"]["statuses"]["4xx"] == 2 * 24
    p95 = found["latency p95 by endpoint"]["data"]["p95_ms"]
    times = [
        x["response_time"]
        for x in lines
        if x["http.route"] == "/api/v1/customers" and x["http.request.method"] == "GET"
    ]
    assert p95["GET /api/v1/customers"] == round(max(times), 1)  # 3 values: p95 is the top

    done = run_script(
        "analyze-access-patterns.sh",
        "--period",
        "24h",
        "--anomalies",
        *ALL_DAY,
        "--json",
        env=env,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    found = findings(done.stdout)
    assert found["volume anomalies"]["status"] == "ok"
    assert found["new sources (last hour)"]["status"] == "ok"
    off_hours = found["off-hours admin actions"]
    assert off_hours["status"] == "ok" and "none of 3 admin actions" in off_hours["detail"]


@pytest.mark.slow
def test_a_spike_a_newcomer_and_night_work_are_flagged(stack: LiveStack, tmp_path: Path) -> None:
    env, base, _, log = _traffic(stack)
    lines = _access_lines(log)
    assert request(base, "GET", "/api/v1/me", source=NEWCOMER).status_code == 401
    history = _history(lines, spike_hours_back=5)
    day = tmp_path / "day.log"
    day.write_text("\n".join(history + [json.dumps(x) for x in _access_lines(log)]) + "\n")
    env = {**env, "SYNTHDATA_LOG_FILE": str(day)}

    runbook = run_script(
        "analyze-access-patterns.sh", "--period", "24h", "--anomalies", env=env, cwd=tmp_path
    )
    assert runbook.returncode == 1, runbook.stdout + runbook.stderr
    assert "volume anomalies" in runbook.stdout

    # Business hours that leave out this hour and the next: the admin work just done
    # (a customer and its key through the API, an admin key with the CLI) is "at night".
    hour = datetime.now(UTC).hour
    night = f"{(hour + 2) % 24:02d}-{hour:02d}"
    done = run_script(
        "analyze-access-patterns.sh",
        "--period",
        "24h",
        "--anomalies",
        "--business-hours",
        night,
        "--business-days",
        "mon-sun",
        "--json",
        env=env,
        cwd=tmp_path,
    )
    assert done.returncode == 1, done.stdout
    found = findings(done.stdout)
    spike = found["volume anomalies"]
    assert spike["status"] == "warn"
    assert [h["requests"] for h in spike["data"]["hours"]] == [10 * len(lines)]
    spike_start = parse_timestamp(spike["data"]["hours"][0]["start"])
    first = parse_timestamp(lines[0]["@timestamp"]) - timedelta(hours=5)
    assert spike_start <= first < spike_start + timedelta(hours=1)
    newcomer = found["new sources (last hour)"]
    assert newcomer["status"] == "warn" and newcomer["data"]["sources"] == [NEWCOMER]
    off_hours = found["off-hours admin actions"]
    assert off_hours["status"] == "warn"
    actions = sorted(a["action"] for a in off_hours["data"]["actions"])
    assert actions == ["api_key.create", "api_key.create", "customer.create"]
    assert OPERATOR in {a["source"] for a in off_hours["data"]["actions"]}


def test_unreadable_log_and_database_exit_3(tmp_path: Path) -> None:
    env = LiveStack(tmp_path).service_env(
        SYNTHDATA_LOG_FILE=str(tmp_path / "nowhere.log"),
        SYNTHDATA_DATABASE_URL="postgresql+psycopg://postgres@127.0.0.1:9/synthdata",
    )
    done = run_script(
        "analyze-access-patterns.sh",
        "--period",
        "24h",
        "--anomalies",
        "--json",
        env=env,
        cwd=tmp_path,
    )
    assert done.returncode == 3, done.stdout + done.stderr
    no_traceback(done)
    found = findings(done.stdout)
    assert found["access log"]["status"] == "unreachable"
    assert "nowhere.log" in found["access log"]["detail"]
    database = found["off-hours admin actions"]
    assert database["status"] == "unreachable"
    assert "postgresql+psycopg://postgres@127.0.0.1:9/synthdata" in database["detail"]

    bad = run_script("analyze-access-patterns.sh", "--period", "soon", env=env, cwd=tmp_path)
    assert bad.returncode == 2 and "not a duration" in bad.stderr
