"""`security-check` counts what BruteForceAttack counts: a locked-out address's 429s too.

A real service (`synthdata serve`, its JSON log in a file) behind a real Prometheus.
An attacker guesses keys until it is locked out, then keeps trying: thousands of 429
answers, each counted in `auth_failures_total{reason="locked_out"}`, so the shipped
BruteForceAttack expression holds. The command must name the attacker as a
brute-force source and count exactly the failures Prometheus counted, and must not
count the plain 429s of a busy but honest address (the per-source rate limit).
The rule adds every source up, so a brute force spread thin over many addresses
is reported too ("all sources together").
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from synthdata.ops.access_log import read_access_lines
from synthdata.ops.report import Report
from synthdata.ops.security import collect, report_suspicious_sources
from synthdata.ops.security_check import CheckOptions, source_limits
from tests.ops import live_stack
from tests.ops.live_stack import (
    MONITORING,
    LiveStack,
    admin_key,
    customer_with_key,
    findings,
    request,
    run_script,
    scrape_config,
    target,
)

stack = live_stack.stack

ATTACKER, BUSY, CLIENT = "203.0.113.66", "198.51.100.40", "192.0.2.10"
GUESSES, LOCKOUT_AT = 25, 20  # SYNTHDATA_AUTH_LOCKOUT_FAILURES (the default)
KEEPS_TRYING = 3_600  # > 10/s over the rule's 5 minutes, with the guesses


@pytest.mark.slow
def test_lockout_429s_are_failed_logins_as_the_alert_counts_them(
    stack: LiveStack, tmp_path: Path
) -> None:
    env = stack.service_env(
        SYNTHDATA_RATE_LIMIT_TARPIT_SECONDS="0",  # answer each 429 at once: a fast test
        SYNTHDATA_RATE_LIMIT_PER_SOURCE="40",  # a minute's allowance per address
    )
    admin = admin_key(env)
    api = stack.serve(env)
    prometheus = stack.prometheus(scrape_config("synthdata-api", target(api.url)))
    assert prometheus.wait_equal('sum(auth_failures_total{job="synthdata-api"})', 0) == 0
    _, key = customer_with_key(api.url, admin, "acme", CLIENT)

    # A busy honest address: over its per-source limit, refused with plain 429s.
    with httpx.Client(base_url=api.url, headers={"X-Forwarded-For": BUSY}) as busy:
        answers = [
            busy.get("/api/v1/me", headers={"X-API-Key": key}).status_code for _ in range(80)
        ]
    assert answers.count(429) == 40 and answers.count(200) == 40, answers

    # The attacker: 19 x 401, the 20th locks it out (429), then 429 for every attempt.
    headers = {"X-Forwarded-For": ATTACKER}
    with httpx.Client(base_url=api.url, headers=headers, timeout=30) as attacker:
        guesses = []
        for i in range(GUESSES):
            guesses.append(
                attacker.get("/api/v1/me", headers={"X-API-Key": f"sdk_bad{i:04d}x"}).status_code
            )
        assert guesses == [401] * (LOCKOUT_AT - 1) + [429] * (GUESSES - LOCKOUT_AT + 1)
        for i in range(KEEPS_TRYING):
            answer = attacker.get("/api/v1/me", headers={"X-API-Key": f"sdk_next{i:05d}x"})
            assert answer.status_code == 429
    failures = GUESSES + KEEPS_TRYING
    total = 'sum(auth_failures_total{job="synthdata-api"})'
    assert prometheus.wait_equal(total, failures) == failures
    locked = 'sum(auth_failures_total{job="synthdata-api",reason="locked_out"})'
    assert prometheus.value(locked) == GUESSES - LOCKOUT_AT + KEEPS_TRYING
    assert request(api.url, "GET", "/api/v1/me", key=key, source=CLIENT).status_code == 200

    env = {**env, "SYNTHDATA_PROMETHEUS_URL": prometheus.url}
    done = run_script(
        "security-check.sh", "--failed-logins", "--suspicious-ips", "--json", env=env, cwd=tmp_path
    )
    assert done.returncode == 1, done.stdout + done.stderr
    found = findings(done.stdout)
    # The pager's view: the shipped expression holds.
    assert found["BruteForceAttack (Prometheus)"]["status"] == "fail", found
    # The command's view agrees: the same failures, the attacker named.
    failed = found["failed auths (access log)"]
    assert failed["data"]["by_source"] == {ATTACKER: failures}, failed
    assert failed["data"]["by_status"] == {"401": LOCKOUT_AT - 1, "429": failures - LOCKOUT_AT + 1}
    assert "429 locked out" in failed["detail"], failed
    brute = found["brute-force sources"]
    assert brute["status"] == "fail" and ATTACKER in brute["detail"], brute
    assert BUSY not in brute["detail"] and BUSY not in str(failed["data"]), brute
    assert found["locked-out sources"]["data"]["sources"] == [ATTACKER]


def test_a_brute_force_spread_over_many_sources_is_reported_as_the_alert_sees_it(
    tmp_path: Path,
) -> None:
    # 30 addresses, each failing 0.4 times a second for 5 minutes: 12 a second in all,
    # over BruteForceAttack's 10 (the rule adds every source up), none over it alone.
    start = datetime(2026, 1, 5, 3, 0, tzinfo=UTC)
    log = tmp_path / "synthdata.log"
    with log.open("w") as out:
        for second in range(0, 300, 5):
            for index in range(30):
                line = {
                    "@timestamp": (start + timedelta(seconds=second)).isoformat(),
                    "message": "request",
                    "http.request.method": "GET",
                    "url.path": "/api/v1/me",
                    "http.route": "/api/v1/me",
                    "http.response.status_code": 401,
                    "response_time": 1.0,
                    "source.ip": f"198.51.100.{index}",
                    "auth_failure": "unknown",
                }
                out.write((json.dumps(line) + "\n") * 2)
    report = Report("spread")
    limits = source_limits(MONITORING, CheckOptions())
    stats = collect(read_access_lines(log, start, start + timedelta(minutes=10)))
    report_suspicious_sources(report, stats, limits)
    (brute,) = [f for f in report.findings if f.name == "brute-force sources"]
    assert brute.status == "fail", brute
    assert brute.detail.startswith("all sources together (12.00 failed/s"), brute.detail
    assert "30 sources" in brute.detail
