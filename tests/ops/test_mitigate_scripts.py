"""The runbook's mitigation and optimisation lines work as written, through ./scripts/."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from synthdata.jobs.model_cache import CacheConfig, read_config
from synthdata.service.core.db import make_engine, make_session_factory, session_scope
from synthdata.service.core.migrate import upgrade_head
from tests.ops import kubectl_shim

REPO = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("SYNTHDATA_TEST_REDIS", "redis://127.0.0.1:6379/0")
NS = "--namespace=synthdata"


def _run(script: str, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(REPO / "scripts" / script), *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


@pytest.fixture
def env(tmp_path: Path) -> Iterator[dict[str, str]]:
    """The service's settings for a fresh SQLite database, and the kubectl shim first on PATH."""
    shim = kubectl_shim.install(tmp_path / "bin", tmp_path / "kubectl.log")
    queue_name = f"test-scripts-{secrets.token_hex(4)}"
    values = dict(os.environ)
    values.update(
        PATH=f"{shim.parent}{os.pathsep}{os.environ['PATH']}",
        SYNTHDATA_BIN=str(Path(sys.executable).parent / "synthdata"),
        SYNTHDATA_DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite'}",
        SYNTHDATA_DATA_DIR=str(tmp_path / "data"),
        SYNTHDATA_REDIS_URL=REDIS_URL,
        SYNTHDATA_QUEUE_NAME=queue_name,
        KUBECTL_SHIM_CONTEXT="prod",
        KUBECTL_SHIM_CONTEXTS="prod,dr",
    )
    yield values
    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter(match=f"{queue_name}*"):
        client.delete(key)
    client.close()


def test_optimize_queries_script(env: dict[str, str]) -> None:
    upgrade_head(env["SYNTHDATA_DATABASE_URL"])
    done = _run("optimize-queries.sh", "--analyze", "--explain", env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "usage of a customer" in done.stdout
    assert "ix_charges_customer_id" in done.stdout  # the plan is printed


def test_configure_cache_script(env: dict[str, str]) -> None:
    done = _run("configure-cache.sh", "--redis", "--ttl", "3600", env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    engine = make_engine(env["SYNTHDATA_DATABASE_URL"])
    try:
        with session_scope(make_session_factory(engine)) as session:
            assert read_config(session) == CacheConfig(True, "redis", 3600)
    finally:
        engine.dispose()


def test_update_resources_script(env: dict[str, str], tmp_path: Path) -> None:
    done = _run("update-resources.sh", "--cpu", "4", "--memory", "8Gi", env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert kubectl_shim.actions(tmp_path / "kubectl.log") == [
        [NS, "set", "resources", "deployment/synthdata-api", "--containers=synthdata-api",
         "--limits=cpu=4,memory=8Gi", "--requests=cpu=2,memory=8Gi"]
    ]  # fmt: skip
    bad = _run("update-resources.sh", "--cpu", "4", "--memory", "8GB", env=env)
    assert bad.returncode == 2
    assert "8GB" in bad.stderr


def test_redirect_traffic_script(env: dict[str, str], tmp_path: Path) -> None:
    done = _run("redirect-traffic.sh", "--from", "prod", "--to", "dr", env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    calls = kubectl_shim.actions(tmp_path / "kubectl.log")
    assert [argv[:3] for argv in calls] == [
        ["--context=dr", NS, "scale"],
        ["--context=dr", NS, "rollout"],
        ["--context=prod", NS, "patch"],
    ]


def test_scale_and_restart_scripts(env: dict[str, str], tmp_path: Path) -> None:
    assert _run("scale.sh", "--replicas", "10", env=env).returncode == 0
    assert _run("restart.sh", env=env).returncode == 0
    assert kubectl_shim.actions(tmp_path / "kubectl.log") == [
        [NS, "scale", "deployment", "synthdata-api", "--replicas=10"],
        [NS, "rollout", "restart", "deployment", "synthdata-api"],
    ]
