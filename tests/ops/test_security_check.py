"""`./scripts/security-check.sh --suspicious-ips --failed-logins` against a real service.

The service (`synthdata serve`, writing its JSON log to a file) takes real traffic
from several "sources": it trusts X-Forwarded-For from loopback, as uvicorn is told
to by `synthdata serve --forwarded-allow-ips` (default 127.0.0.1), so each request
is logged with the address the test gives it. Prometheus scrapes the service as job
`synthdata-api`, so the shipped alert expressions are evaluated as in production.
"""

from __future__ import annotations

import os
import secrets
import shutil
from pathlib import Path

import pytest
import redis

from tests.fixtures.processes import Prometheus
from tests.ops import live_stack
from tests.ops.live_stack import (
    MONITORING,
    LiveStack,
    admin_key,
    customer_with_key,
    findings,
    no_traceback,
    request,
    run_script,
    scrape_config,
    target,
)

pytestmark = pytest.mark.slow
stack = live_stack.stack

CLIENT, ATTACKER, SPRAYER, SCANNER = "192.0.2.10", "203.0.113.66", "198.51.100.20", "192.0.2.30"
REDIS = os.environ.get("SYNTHDATA_TEST_REDIS", "redis://127.0.0.1:6379/0")


def _deploy(stack: LiveStack, **extra: str) -> tuple[dict[str, str], str, str, Prometheus]:
    """The service with an admin key, and a Prometheus scraping it; the command's env."""
    env = stack.service_env(**extra)
    admin = admin_key(env)
    api = stack.serve(env)
    prometheus = stack.prometheus(scrape_config("synthdata-api", target(api.url)))
    # The counters start at 0 in Prometheus before any failure (rates see every one).
    scraped = prometheus.wait_for('sum(auth_failures_total{job="synthdata-api"})', lambda v: v == 0)
    assert scraped == 0, scraped
    return {**env, "SYNTHDATA_PROMETHEUS_URL": prometheus.url}, api.url, admin, prometheus


def test_clean_traffic_passes(stack: LiveStack, tmp_path: Path) -> None:
    env, base, admin, prometheus = _deploy(stack)
    _, key = customer_with_key(base, admin, "acme", CLIENT)
    for _ in range(5):
        assert request(base, "GET", "/api/v1/me", key=key, source=CLIENT).status_code == 200
    prometheus.wait_equal('sum(http_requests_total{endpoint="/api/v1/me"})', 5)

    done = run_script(
        "security-check.sh", "--suspicious-ips", "--failed-logins", env=env, cwd=tmp_path
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "security-check" in done.stdout

    as_json = run_script("security-check.sh", "--json", env=env, cwd=tmp_path)
    assert as_json.returncode == 0, as_json.stdout
    found = findings(as_json.stdout)
    assert found["access log"]["data"]["requests"] >= 7  # 2 admin calls, 5 reads
    assert found["failed auths (access log)"]["status"] == "ok"
    assert found["locked-out sources"]["status"] == "ok"
    assert found["BruteForceAttack (Prometheus)"]["status"] == "ok"
    assert found["DDoSAttack (Prometheus)"]["status"] == "ok"
    reasons = found["auth failures (Prometheus)"]["data"]["by_reason"]
    assert set(reasons) >= {"missing", "unknown", "revoked", "locked_out", "forbidden"}
    assert not any(reasons.values())


def test_attacks_are_found_by_the_shipped_and_by_edited_thresholds(
    stack: LiveStack, tmp_path: Path
) -> None:
    env, base, admin, prometheus = _deploy(stack)
    # 25 bad keys from one address: 19 answered 401, the 20th locks the address out
    # (SYNTHDATA_AUTH_LOCKOUT_FAILURES=20) and it and the rest get 429.
    answers = [
        request(base, "GET", "/api/v1/me", key=f"sdk_bad{i:04d}xxxx", source=ATTACKER).status_code
        for i in range(25)
    ]
    assert answers == [401] * 19 + [429] * 6
    for index in range(5):  # one address using five customers' keys
        _, key = customer_with_key(base, admin, f"tenant-{index}", CLIENT)
        assert request(base, "GET", "/api/v1/me", key=key, source=SPRAYER).status_code == 200
    for index in range(25):  # a scanner: nothing but 404s
        assert request(base, "GET", f"/admin-{index}.php", source=SCANNER).status_code == 404
    prometheus.wait_equal('sum(auth_failures_total{reason="unknown"})', 20)
    prometheus.wait_equal('sum(auth_failures_total{reason="locked_out"})', 5)

    done = run_script(
        "security-check.sh", "--suspicious-ips", "--failed-logins", env=env, cwd=tmp_path
    )
    assert done.returncode == 1, done.stdout + done.stderr
    found = findings(run_script("security-check.sh", "--json", env=env, cwd=tmp_path).stdout)
    failed = found["failed auths (access log)"]
    # What auth_failures_total counts: 20 bad keys, then 5 tries while locked out.
    assert failed["data"]["by_source"] == {ATTACKER: 25}, failed
    assert failed["data"]["by_status"] == {"401": 19, "429": 6}, failed
    locked = found["locked-out sources"]
    assert locked["status"] == "warn" and locked["data"]["sources"] == [ATTACKER], locked
    many = found["sources using many customers' keys"]
    assert many["status"] == "warn" and SPRAYER in many["detail"], many
    assert CLIENT not in many["detail"], many
    errors = found["sources with mostly 4xx"]
    assert errors["status"] == "warn", errors
    assert SCANNER in errors["detail"] and ATTACKER in errors["detail"], errors
    assert SPRAYER not in errors["detail"]
    reasons = found["auth failures (Prometheus)"]["data"]["by_reason"]
    # increase() extrapolates towards the end of the window, past the last scrape:
    # with a few scrapes 1-2 s apart that adds up to about half a scrape's worth.
    assert 20 <= reasons["unknown"] <= 30 and 5 <= reasons["locked_out"] <= 8, reasons
    # 25 failures in 5 minutes and 25 requests in a minute: far below the shipped rates.
    assert found["brute-force sources"]["status"] == "ok", found["brute-force sources"]
    assert "> 10 over 5m" in found["brute-force sources"]["detail"]
    assert found["flooding sources (DDoS)"]["status"] == "ok", found["flooding sources (DDoS)"]

    # The thresholds are the alert rules': lower them in a copy of monitoring/ and the
    # same traffic crosses them (0.05 failed auths/s over 5m; 0.3 requests/s over 1m).
    edited = tmp_path / "monitoring"
    shutil.copytree(MONITORING, edited)
    rules = edited / "prometheus" / "rules" / "security.yml"
    text = rules.read_text()
    text = text.replace("[5m])) > 10\n", "[5m])) > 0.05\n").replace("> 1000\n", "> 0.3\n")
    rules.write_text(text)
    env = {**env, "SYNTHDATA_MONITORING_DIR": str(edited)}
    found = findings(run_script("security-check.sh", "--json", env=env, cwd=tmp_path).stdout)
    brute = found["brute-force sources"]
    assert brute["status"] == "fail" and ATTACKER in brute["detail"], brute
    assert SCANNER not in brute["detail"]
    flood = found["flooding sources (DDoS)"]
    assert flood["status"] == "fail" and SCANNER in flood["detail"], flood
    assert SPRAYER not in flood["detail"]
    # Prometheus evaluates the edited BruteForceAttack expression: 25 failures / 300 s.
    assert found["BruteForceAttack (Prometheus)"]["status"] == "fail"


def test_lockouts_are_read_from_redis(stack: LiveStack, tmp_path: Path) -> None:
    prefix = f"synthdata-test-security-{secrets.token_hex(4)}"
    limits = {
        "SYNTHDATA_REDIS_URL": REDIS,
        "SYNTHDATA_RATE_LIMIT_BACKEND": "redis",
        "SYNTHDATA_RATE_LIMIT_PREFIX": prefix,
        "SYNTHDATA_AUTH_LOCKOUT_FAILURES": "5",
    }
    client = redis.Redis.from_url(REDIS)
    try:
        env, base, _, _ = _deploy(stack, **limits)
        for i in range(7):
            request(base, "GET", "/api/v1/me", key=f"sdk_bad{i:04d}xxxx", source=ATTACKER)
        done = run_script("security-check.sh", "--failed-logins", "--json", env=env, cwd=tmp_path)
        assert done.returncode == 1, done.stdout + done.stderr
        locked = findings(done.stdout)["locked-out sources"]
        assert locked["status"] == "warn"
        assert list(locked["data"]["sources"]) == [ATTACKER]
        assert 0 < locked["data"]["sources"][ATTACKER] <= 900  # the lockout's TTL
        assert client.ttl(f"{prefix}:lock:src:{ATTACKER}") > 0
    finally:
        for key in client.scan_iter(match=f"{prefix}*"):
            client.delete(key)
        client.close()


def test_unreachable_sources_exit_3_without_a_traceback(tmp_path: Path) -> None:
    env = LiveStack(tmp_path).service_env(
        SYNTHDATA_LOG_FILE=str(tmp_path / "missing" / "synthdata.log"),
        SYNTHDATA_PROMETHEUS_URL="http://127.0.0.1:9",
        SYNTHDATA_REDIS_URL="redis://127.0.0.1:9/0",
        SYNTHDATA_RATE_LIMIT_BACKEND="redis",
    )
    done = run_script(
        "security-check.sh", "--suspicious-ips", "--failed-logins", "--json", env=env, cwd=tmp_path
    )
    assert done.returncode == 3, done.stdout + done.stderr
    no_traceback(done)
    found = findings(done.stdout)
    assert found["access log"]["status"] == "unreachable"
    assert "missing/synthdata.log" in found["access log"]["detail"]
    assert found["locked-out sources"]["status"] == "unreachable"
    assert "Redis at redis://127.0.0.1:9/0" in found["locked-out sources"]["detail"]
    assert found["auth failures (Prometheus)"]["status"] == "unreachable"
    assert "http://127.0.0.1:9" in found["DDoSAttack (Prometheus)"]["detail"]


@pytest.mark.parametrize(
    "script", ["security-check.sh", "analyze-access-patterns.sh", "security-report.sh"]
)
def test_wrappers_call_their_command(script: str, tmp_path: Path) -> None:
    path = live_stack.REPO / "scripts" / script
    assert path.stat().st_mode & 0o111, f"{script} is not executable"
    done = run_script(script, "--help", env=LiveStack(tmp_path).service_env(), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert f"synthdata ops {script.removesuffix('.sh')}" in " ".join(done.stdout.split())
