"""`check-recent-deployments` (runbook: `./scripts/check-recent-deployments.sh --last 4h`):
the starts real `synthdata serve` and `synthdata worker` processes record in PostgreSQL,
and `kubectl rollout history` against a local stand-in for the Kubernetes API server."""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

import synthdata
from synthdata.service.core.db import make_engine, make_session_factory, session_scope, utcnow
from synthdata.service.deployments.models import Deployment
from tests.databases import scratch_postgres
from tests.fixtures.ops import (  # noqa: F401  (the fixtures)
    Receiver,
    Request,
    assert_clean_exit,
    base_test_env,
    closed_url,
    fixed,
    ops,
    receiver,
    script,
)
from tests.fixtures.processes import Proc, processes, serve, worker  # noqa: F401  (the fixtures)

pytestmark = pytest.mark.slow


def _rows(database_url: str) -> list[Deployment]:
    engine = make_engine(database_url)
    try:
        with session_scope(make_session_factory(engine)) as session:
            return list(session.scalars(select(Deployment).order_by(Deployment.id)))
    finally:
        engine.dispose()


def _shift(database_url: str, hours: float) -> None:
    """Move every recorded start `hours` into the past."""
    engine = make_engine(database_url)
    try:
        with session_scope(make_session_factory(engine)) as session:
            for row in session.scalars(select(Deployment)):
                row.started_at = row.started_at - timedelta(hours=hours)
    finally:
        engine.dispose()


def _set_old_version(database_url: str, version: str, older_than: timedelta) -> None:
    """Rewrite the version of the starts older than `older_than` (an earlier release)."""
    engine = make_engine(database_url)
    try:
        with session_scope(make_session_factory(engine)) as session:
            session.execute(
                update(Deployment)
                .where(Deployment.started_at < utcnow() - older_than)
                .values(version=version)
            )
    finally:
        engine.dispose()


def _digest_in(env: dict[str, str]) -> str:
    """The config digest a process started with `env` computes."""
    code = (
        "from synthdata.service.core.settings import Settings\n"
        "from synthdata.service.deployments.service import config_digest\n"
        "print(config_digest(Settings()))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


@pytest.mark.timeout(400)
def test_starts_are_recorded_and_changes_flagged(
    tmp_path: Path,
    serve: Callable[..., Proc],  # noqa: F811
    worker: Callable[..., Proc],  # noqa: F811
) -> None:
    with scratch_postgres(f"synthdata_deploy_{secrets.token_hex(4)}") as database_url:
        env = base_test_env(tmp_path, SYNTHDATA_DATABASE_URL=database_url)
        api = serve(env, 1)
        api.stop()
        consumer = worker(env)
        consumer.stop()
        first_api, first_worker = _rows(database_url)
        digest = _digest_in(env)
        assert (first_api.component, first_api.pid) == ("api", api.popen.pid)
        assert (first_worker.component, first_worker.pid) == ("worker", consumer.popen.pid)
        for row in (first_api, first_worker):
            assert (row.version, row.config_digest) == (synthdata.__version__, digest)

        # A first start is a deployment.
        fresh = ops(env, "check-recent-deployments", "--last", "4h", "--json")
        assert_clean_exit(fresh, 1)
        assert "first recorded start of api" in " ".join(f["detail"] for f in fresh.findings())

        # Five hours later the same configuration restarts: healthy.
        _shift(database_url, 5)
        serve(env, 1).stop()
        table = script("check-recent-deployments.sh", env, "--last", "4h")
        assert_clean_exit(table, 0)
        assert "1 start(s) in the last 4h (api: 1), no version or configuration change" in (
            table.stdout
        )
        assert "restart" in table.stdout
        assert "kubectl not available: no current context" in table.stdout
        week = ops(env, "check-recent-deployments", "--last", "7d", "--json")
        assert_clean_exit(week, 1)  # the first starts are inside a week
        assert week.finding("deployments")["detail"].startswith("3 start(s) in the last 7d")

        # A worker with another chunk size, and an API whose previous start ran 0.0.9.
        _set_old_version(database_url, "0.0.9", older_than=timedelta(hours=4))
        worker({**env, "SYNTHDATA_JOB_CHUNK_ROWS": "5000"}).stop()
        changed = ops(env, "check-recent-deployments", "--last", "4h", "--json")
        assert_clean_exit(changed, 1)
        (api_start,) = changed.findings("api start")
        (worker_start,) = changed.findings("worker start")
        assert api_start["status"] == "warn"
        assert f"version 0.0.9 -> {synthdata.__version__}" in api_start["detail"]
        assert worker_start["status"] == "warn"
        assert "configuration changed" in worker_start["detail"]
        assert worker_start["data"]["config_digest"] != digest
        summary = changed.finding("deployments")
        assert summary["status"] == "warn"
        assert "deployment in the window: suspect it first" in summary["detail"]

        # The database cannot be reached: exit 3, no traceback.
        gone = f"postgresql+psycopg://postgres@127.0.0.1:{closed_url().rsplit(':', 1)[1]}/x"
        down = ops({**env, "SYNTHDATA_DATABASE_URL": gone}, "check-recent-deployments", "--json")
        assert_clean_exit(down, 3)
        assert down.finding("database")["status"] == "unreachable"


# -- kubectl -------------------------------------------------------------------------------------
def _replica_set(revision: int, image: str, cause: str) -> dict[str, Any]:
    labels = {"app.kubernetes.io/name": "synthdata-api"}
    return {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {
            "name": f"synthdata-api-{revision}",
            "namespace": "synthdata",
            "uid": f"rs-{revision}",
            "labels": labels,
            "annotations": {
                "deployment.kubernetes.io/revision": str(revision),
                "kubernetes.io/change-cause": cause,
            },
            "ownerReferences": [
                {
                    "apiVersion": "apps/v1",
                    "kind": "Deployment",
                    "name": "synthdata-api",
                    "uid": "deployment-1",
                    "controller": True,
                }
            ],
        },
        "spec": {
            "replicas": 1 if revision == 2 else 0,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "synthdata-api", "image": image}]},
            },
        },
    }


def kubernetes_api(start: Callable[..., Receiver]) -> Receiver:
    """What `kubectl rollout history deployment/synthdata-api -n synthdata` reads: discovery,
    the Deployment and its ReplicaSets (two revisions)."""
    labels = {"app.kubernetes.io/name": "synthdata-api"}
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "synthdata-api", "namespace": "synthdata", "uid": "deployment-1"},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "synthdata-api", "image": "synthdata:0.1.0"}]},
            },
        },
    }
    resource = {"namespaced": True, "verbs": ["get", "list"]}
    replica_sets = [
        _replica_set(1, "synthdata:0.0.9", "initial install"),
        _replica_set(2, "synthdata:0.1.0", "kubectl set image synthdata-api=synthdata:0.1.0"),
    ]

    def list_replica_sets(request: Request) -> tuple[int, Any]:
        assert request.query.get("labelSelector") == ["app.kubernetes.io/name=synthdata-api"]
        return 200, {"apiVersion": "apps/v1", "kind": "ReplicaSetList", "items": replica_sets}

    apps = {"groupVersion": "apps/v1", "version": "v1"}
    return start(
        {
            ("GET", "/version"): fixed(200, {"major": "1", "minor": "32", "gitVersion": "v1.32.0"}),
            ("GET", "/api"): fixed(200, {"kind": "APIVersions", "versions": ["v1"]}),
            ("GET", "/api/v1"): fixed(200, {"kind": "APIResourceList", "groupVersion": "v1"}),
            ("GET", "/apis"): fixed(
                200,
                {
                    "kind": "APIGroupList",
                    "groups": [{"name": "apps", "versions": [apps], "preferredVersion": apps}],
                },
            ),
            ("GET", "/apis/apps/v1"): fixed(
                200,
                {
                    "kind": "APIResourceList",
                    "groupVersion": "apps/v1",
                    "resources": [
                        {"name": "deployments", "kind": "Deployment", **resource},
                        {"name": "replicasets", "kind": "ReplicaSet", **resource},
                    ],
                },
            ),
            ("GET", "/apis/apps/v1/namespaces/synthdata/deployments/synthdata-api"): fixed(
                200, deployment
            ),
            ("GET", "/apis/apps/v1/namespaces/synthdata/replicasets"): list_replica_sets,
        }
    )


def _kubeconfig(path: Path, server: str) -> Path:
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "test", "cluster": {"server": server}}],
        "users": [{"name": "test", "user": {"token": "test-token"}}],
        "contexts": [{"name": "synthdata-test", "context": {"cluster": "test", "user": "test"}}],
        "current-context": "synthdata-test",
    }
    path.write_text(json.dumps(config))  # JSON is YAML
    return path


@pytest.mark.timeout(120)
def test_rollout_history_comes_from_the_cluster(
    tmp_path: Path,
    receiver: Callable[..., Receiver],  # noqa: F811
) -> None:
    if subprocess.run(["which", "kubectl"], capture_output=True, check=False).returncode:
        pytest.fail("kubectl is not installed")
    cluster = kubernetes_api(receiver)
    env = base_test_env(tmp_path)
    env["SYNTHDATA_DATABASE_URL"] = f"sqlite:///{tmp_path / 'db.sqlite'}"
    subprocess.run(
        [sys.executable, "-m", "synthdata", "admin", "migrate"], env=env, check=True, timeout=120
    )
    env["KUBECONFIG"] = str(_kubeconfig(tmp_path / "kubeconfig", cluster.url))

    run = ops(env, "check-recent-deployments", "--last", "4h", "--json")
    assert_clean_exit(run, 0)
    kube = run.finding("kubernetes")
    assert kube["status"] == "info"
    assert "context synthdata-test" in kube["detail"]
    assert "2 revision(s), latest 2 (kubectl set image" in kube["detail"]
    assert any(
        line.startswith("1 ") and "initial install" in line for line in kube["data"]["history"]
    )
    assert cluster.got("GET", "/apis/apps/v1/namespaces/synthdata/deployments/synthdata-api")
    assert cluster.got("GET", "/apis/apps/v1/namespaces/synthdata/replicasets")

    # The cluster is gone: unreachable, exit 3.
    env["KUBECONFIG"] = str(_kubeconfig(tmp_path / "gone", closed_url()))
    down = ops(env, "check-recent-deployments", "--last", "4h", "--json")
    assert_clean_exit(down, 3)
    assert down.finding("kubernetes")["status"] == "unreachable"
    assert down.finding("deployments")["status"] == "ok"
