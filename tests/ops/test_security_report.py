"""`./scripts/security-report.sh --period 7d --threats --vulnerabilities` on a real deployment.

The deployment is the real service on SQLite or PostgreSQL; its audit log and API
keys are made through the API and the CLI. Two facts need time the test does not
have: a key created 200 days ago and one last used 100 days ago are made by moving
those two columns back in the database.
"""

from __future__ import annotations

import secrets
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from synthdata.service.core.db import make_engine, utcnow
from synthdata.service.customers.models import ApiKey
from tests.databases import scratch_postgres
from tests.fixtures.processes import write_certificate
from tests.ops import live_stack
from tests.ops.live_stack import (
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

stack = live_stack.stack
OPERATOR, CLIENT = "192.0.2.99", "192.0.2.10"
RUNBOOK = ("--period", "7d", "--threats", "--vulnerabilities")


def _wait_all_keys_used(database_url: str, timeout: float = 30.0) -> None:
    """The service notes key use in the background (about every 2 s): wait for it."""
    engine = make_engine(database_url)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            with Session(engine) as session:
                if all(session.scalars(select(ApiKey.last_used_at))):
                    return
            time.sleep(0.3)
    finally:
        engine.dispose()
    pytest.fail("the service did not record every key's use")


@pytest.mark.slow
def test_a_tidy_deployment_reports_nothing(stack: LiveStack, tmp_path: Path) -> None:
    certificate = write_certificate(tmp_path / "tls.pem", days=200)
    env = stack.service_env(
        SYNTHDATA_ALERT_WEBHOOK_TOKEN="a-long-random-token",
        SYNTHDATA_CERT_FILES=str(certificate),
    )
    admin = admin_key(env)
    api = stack.serve(env)
    prometheus = stack.prometheus(scrape_config("synthdata-api", target(api.url)))
    _, key = customer_with_key(api.url, admin, "acme", OPERATOR)
    assert request(api.url, "GET", "/api/v1/me", key=key, source=CLIENT).status_code == 200
    _wait_all_keys_used(env["SYNTHDATA_DATABASE_URL"])
    env = {**env, "SYNTHDATA_PROMETHEUS_URL": prometheus.url}

    done = run_script("security-report.sh", *RUNBOOK, env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    [report] = (tmp_path / "var" / "reports").glob("security-report-*.md")
    text = report.read_text()
    assert "## Threats" in text and "## Vulnerabilities" in text
    assert f"| certificate {certificate} | ok |" in text
    assert "Verdict: **ok**" in text

    as_json = run_script("security-report.sh", *RUNBOOK, "--json", env=env, cwd=tmp_path)
    assert as_json.returncode == 0, as_json.stdout
    found = findings(as_json.stdout)
    privileged = found["privileged operations"]["data"]
    assert privileged["by_action"] == {"api_key.create": 2, "customer.create": 1}
    assert privileged["by_actor"]["cli"] == 1
    assert found["PrivilegedOperationsSpike windows"]["status"] == "ok"
    assert found["admin API keys"]["detail"].startswith("1 active")
    for name in ("API keys never used", "API keys unused > 90 days", "fault injection"):
        assert found[name]["status"] == "ok", found[name]
    assert found["alert webhook token"]["status"] == "ok"


def _weak_deployment(stack: LiveStack, tmp_path: Path, database_url: str) -> dict[str, str]:
    certs = [
        write_certificate(tmp_path / "soon.pem", days=10),
        write_certificate(tmp_path / "urgent.pem", days=3),
        tmp_path / "missing.pem",
    ]
    env = stack.service_env(
        SYNTHDATA_DATABASE_URL=database_url,
        SYNTHDATA_ENVIRONMENT="development",
        SYNTHDATA_FAULT_INJECTION="true",
        SYNTHDATA_CERT_FILES=",".join(map(str, certs)),
        SYNTHDATA_PROMETHEUS_URL="http://127.0.0.1:9",
    )
    admin = admin_key(env)
    api = stack.serve(env)
    customers = [customer_with_key(api.url, admin, f"c{i}", OPERATOR)[0] for i in range(3)]
    made = [
        request(
            api.url,
            "POST",
            f"/api/v1/customers/{customers[0]}/keys",
            key=admin,
            source=OPERATOR,
            json={"role": role},
        ).json()["id"]
        for role in ("admin", "admin", "admin", "customer", "customer", "customer")
    ]
    old, idle, never = made[3:]
    engine = make_engine(database_url)
    with engine.begin() as connection:
        now = utcnow()
        connection.execute(
            update(ApiKey).where(ApiKey.id == old).values(created_at=now - timedelta(days=200))
        )
        connection.execute(
            update(ApiKey).where(ApiKey.id == idle).values(last_used_at=now - timedelta(days=100))
        )
    engine.dispose()
    return {**env, "OLD": old, "IDLE": idle, "NEVER": never}


@pytest.mark.slow
def test_a_weak_deployment_on_postgres(stack: LiveStack, tmp_path: Path) -> None:
    name = f"synthdata_security_{secrets.token_hex(4)}"
    with scratch_postgres(name) as url:
        # Trust authentication ignores the password, so the placeholder one still connects.
        weak_url = url.replace("postgres@", "postgres:changeme@")
        env = _weak_deployment(stack, tmp_path, weak_url)
        runbook = run_script("security-report.sh", *RUNBOOK, env=env, cwd=tmp_path)
        assert runbook.returncode == 1, runbook.stdout + runbook.stderr
        assert list((tmp_path / "var" / "reports").glob("security-report-*.md"))

        html = tmp_path / "out" / "report.html"
        args = ("--format", "html", "--output", str(html), "--dependency-audit", "--json")
        done = run_script("security-report.sh", *RUNBOOK, *args, env=env, cwd=tmp_path)
        assert done.returncode == 1, done.stdout + done.stderr
        no_traceback(done)
        stack.close()  # the database is dropped next: the service must let go of it

    found = findings(done.stdout)
    assert found["fault injection"]["status"] == "fail"
    assert found["database_url password"]["status"] == "fail"
    assert "changeme" not in done.stdout
    assert found["alert webhook token"]["status"] == "warn"
    assert found[f"certificate {tmp_path / 'soon.pem'}"]["status"] == "warn"
    assert found[f"certificate {tmp_path / 'urgent.pem'}"]["status"] == "fail"
    assert found[f"certificate {tmp_path / 'missing.pem'}"]["status"] == "fail"
    # Only the CLI's admin key and the idle one were ever used: 3 customers' keys, 3
    # customer admin keys, the old and the never-used key remain.
    never = found["API keys never used"]["data"]["keys"]
    assert len(never) == 8 and env["NEVER"] in never and env["IDLE"] not in never
    assert found["API keys unused > 90 days"]["data"]["keys"] == [env["IDLE"]]
    assert found["API keys older than 180 days"]["data"]["keys"] == [env["OLD"]]
    admins = found["admin API keys"]
    assert admins["status"] == "warn" and len(admins["data"]["keys"]) == 4
    spike = found["PrivilegedOperationsSpike windows"]
    assert spike["status"] == "warn" and spike["detail"].startswith("13 from ")
    assert found["privileged operations"]["data"]["by_actor"]["cli"] == 1
    assert found["auth failures (Prometheus)"]["status"] == "unreachable"
    audit = found["dependency audit"]
    assert audit["status"] in {"info", "ok", "warn", "unreachable"}
    if "not installed" in audit["detail"]:
        assert audit["status"] == "info"

    page = html.read_text()
    assert "<h2>Threats</h2>" in page and "<h2>Vulnerabilities</h2>" in page
    assert '<td class="fail">fail</td>' in page
    assert "days left (&lt; 30" in page  # details are escaped


def test_unreachable_parts_exit_3_and_the_report_says_so(tmp_path: Path) -> None:
    env = LiveStack(tmp_path).service_env(
        SYNTHDATA_DATABASE_URL="postgresql+psycopg://postgres@127.0.0.1:9/synthdata",
        SYNTHDATA_LOG_FILE=str(tmp_path / "nowhere.log"),
        SYNTHDATA_PROMETHEUS_URL="http://127.0.0.1:9",
        SYNTHDATA_ALERT_WEBHOOK_TOKEN="set",
    )
    output = tmp_path / "report.md"
    done = run_script(
        "security-report.sh", *RUNBOOK, "--output", str(output), "--json", env=env, cwd=tmp_path
    )
    assert done.returncode == 3, done.stdout + done.stderr
    no_traceback(done)
    found = findings(done.stdout)
    for name in ("access log", "privileged operations", "API keys", "auth failures (Prometheus)"):
        assert found[name]["status"] == "unreachable", found[name]
    assert "| API keys | unreachable |" in output.read_text()
