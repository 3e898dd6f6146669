"""Privileged operations from the CLI reach Prometheus, and incident work never counts.

The CLI runs in processes of its own that nobody scrapes: `synthdata admin
create-customer | create-key | revoke-key`, `synthdata ops enable-circuit-breaker`,
`synthdata ops scale` (kubectl is a recording shim). Each writes the audit log, and
the service (`synthdata serve`, on PostgreSQL) reports `privileged_operations_total`
from that log, so a real Prometheus evaluates the shipped PrivilegedOperationsSpike
expression over them. `incident.*` entries (on-call work) are in the audit log but
are counted neither there nor by `security-report`.
"""

from __future__ import annotations

import os
import secrets
import subprocess
from pathlib import Path

import pytest
from benchmarks.service_processes import SYNTHDATA
from sqlalchemy import select

from synthdata.service.admin.service import audit
from synthdata.service.core.db import make_engine, make_session_factory, session_scope
from synthdata.service.customers.models import ApiKey
from tests.databases import scratch_postgres
from tests.ops import kubectl_shim, live_stack
from tests.ops.live_stack import (
    MONITORING,
    LiveStack,
    findings,
    run_script,
    scrape_config,
    target,
)

pytestmark = pytest.mark.slow
stack = live_stack.stack

API = 'job="synthdata-api"'


def _spike_expression() -> str:
    from synthdata.ops.security_thresholds import PRIVILEGED_SPIKE, alert_threshold

    return alert_threshold(MONITORING, PRIVILEGED_SPIKE).expr


def cli(env: dict[str, str], *args: str) -> str:
    """`synthdata ARGS` in a process of its own; what it printed."""
    done = subprocess.run(
        [*SYNTHDATA, *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout.strip()


def _key_of(database_url: str, customer: str) -> str:
    engine = make_engine(database_url)
    try:
        with session_scope(make_session_factory(engine)) as session:
            return session.scalars(select(ApiKey.id).where(ApiKey.customer_id == customer)).one()
    finally:
        engine.dispose()


def _incident_work(database_url: str, notes: int) -> None:
    """On-call work as the incident service records it: audited, not privileged."""
    engine = make_engine(database_url)
    try:
        with session_scope(make_session_factory(engine)) as session:
            for index in range(notes):
                audit(
                    session,
                    actor="carol",
                    action="incident.note",
                    target=f"inc_{index}",
                    privileged=False,
                )
            session.commit()
    finally:
        engine.dispose()


def test_cli_actions_count_and_incident_work_does_not(stack: LiveStack, tmp_path: Path) -> None:
    shim = kubectl_shim.install(tmp_path / "bin", tmp_path / "kubectl.log")
    with scratch_postgres(f"synthdata_privileged_{secrets.token_hex(4)}") as url:
        env = stack.service_env(
            SYNTHDATA_DATABASE_URL=url,
            PATH=f"{shim.parent}{os.pathsep}{os.environ['PATH']}",
            KUBECTL_SHIM_CONTEXT="prod",
            KUBECTL_SHIM_CONTEXTS="prod,dr",
        )
        cli(env, "admin", "create-key", "--role", "admin")  # before the service runs
        api = stack.serve(env)
        prometheus = stack.prometheus(scrape_config("synthdata-api", target(api.url)))
        # The service reports what the audit log already holds, from its first scrape.
        created = f'sum(privileged_operations_total{{{API},operation="api_key.create"}})'
        assert prometheus.wait_equal(created, 1) == 1
        assert prometheus.value(f"sum(privileged_operations_total{{{API}}})") == 1
        spike = _spike_expression()
        assert prometheus.query(spike) == []

        # Ten notes on incidents: audited, never privileged.
        _incident_work(url, 10)
        # Six privileged actions, each from a CLI process of its own.
        customer = cli(env, "admin", "create-customer", "acme")
        cli(env, "admin", "create-key", customer)
        cli(env, "ops", "enable-circuit-breaker", "--reason", "drill")
        cli(env, "ops", "disable-circuit-breaker")
        cli(env, "ops", "scale", "--replicas", "3")
        cli(env, "admin", "revoke-key", _key_of(url, customer))

        expected = {
            "api_key.create": 2,
            "customer.create": 1,
            "circuit_breaker.enable": 1,
            "circuit_breaker.disable": 1,
            "k8s.scale": 1,
            "api_key.revoke": 1,
        }
        for operation, count in expected.items():
            series = f'sum(privileged_operations_total{{{API},operation="{operation}"}})'
            assert prometheus.wait_equal(series, count) == count, operation
        incident = f'count(privileged_operations_total{{{API},operation=~"incident.*"}})'
        assert prometheus.value(incident) is None
        # Six in the last five minutes (the first key was counted before the window):
        # PrivilegedOperationsSpike's condition holds.
        value = prometheus.wait_for(spike, lambda v: v is not None)
        assert value is not None and 6 <= value < 7.5, value  # increase() extrapolates a little

        # security-report counts the same privileged actions, and no incident work.
        report_env = {**env, "SYNTHDATA_PROMETHEUS_URL": prometheus.url}
        done = run_script(
            "security-report.sh",
            *("--period", "1h", "--threats", "--json", "--output", str(tmp_path / "r.md")),
            env=report_env,
            cwd=tmp_path,
        )
        stack.close()  # the database is dropped next: the service must let go of it
    found = findings(done.stdout)
    privileged = found["privileged operations"]
    assert privileged["data"]["by_action"] == {**expected, "api_key.create": 2}, privileged
    assert privileged["detail"].startswith("7: "), privileged
    windows = found["PrivilegedOperationsSpike windows"]
    assert windows["status"] == "warn" and windows["detail"].startswith("7 from "), windows
