"""scale, restart, update-resources, redirect-traffic: the kubectl they run, and nothing else.

kubectl is replaced by a shim that records its argv (there is no cluster here); the
tests check the exact argv, that `--dry-run` prints those very commands, that every
run is audited as a privileged operation, and that the names match monitoring/k8s/.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from synthdata.cli.main import app
from synthdata.ops import kubectl
from synthdata.ops.mitigate import redirect_plan, resource_settings, resources_plan
from synthdata.service.admin.models import AuditEntry
from synthdata.service.admin.privileged import privileged_counts
from synthdata.service.core.db import make_engine, make_session_factory, session_scope
from synthdata.service.core.migrate import upgrade_head
from tests.ops import kubectl_shim

runner = CliRunner()
NS = "--namespace=synthdata"
PATCH = (
    '--patch={"spec":{"type":"ExternalName","externalName":'
    '"synthdata-api.synthdata.svc.clusterset.local","selector":null}}'
)

CASES: list[tuple[list[str], str, list[list[str]]]] = [
    (
        ["scale", "--replicas", "10"],
        "k8s.scale",
        [[NS, "scale", "deployment", "synthdata-api", "--replicas=10"]],
    ),
    (
        ["restart"],
        "k8s.restart",
        [[NS, "rollout", "restart", "deployment", "synthdata-api"]],
    ),
    (
        ["update-resources", "--cpu", "4", "--memory", "8Gi"],
        "k8s.update_resources",
        [
            [
                NS,
                "set",
                "resources",
                "deployment/synthdata-api",
                "--containers=synthdata-api",
                "--limits=cpu=4,memory=8Gi",
                "--requests=cpu=2,memory=8Gi",
            ]
        ],
    ),
    (
        ["redirect-traffic", "--from", "prod", "--to", "dr"],
        "k8s.redirect_traffic",
        [
            ["--context=dr", NS, "scale", "deployment", "synthdata-api", "--replicas=2"],
            [
                "--context=dr",
                NS,
                "rollout",
                "status",
                "deployment",
                "synthdata-api",
                "--timeout=300s",
            ],
            ["--context=prod", NS, "patch", "service", "synthdata-api", "--type=merge", PATCH],
        ],
    ),
    (
        [
            "scale",
            "--replicas",
            "3",
            "--deployment",
            "synthdata-worker",
            "--namespace",
            "staging",
            "--context",
            "prod",
        ],
        "k8s.scale",
        [
            [
                "--context=prod",
                "--namespace=staging",
                "scale",
                "deployment",
                "synthdata-worker",
                "--replicas=3",
            ]
        ],
    ),
]


def _env(tmp_path: Path, *, path: str, **extra: str) -> dict[str, str]:
    return {
        "PATH": path,
        "SYNTHDATA_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}",
        "SYNTHDATA_DATA_DIR": str(tmp_path / "data"),
        "KUBECTL_SHIM_CONTEXT": "prod",
        "KUBECTL_SHIM_CONTEXTS": "prod,dr",
        **extra,
    }


def _shim(tmp_path: Path) -> tuple[Path, str]:
    log = tmp_path / "kubectl.log"
    shim = kubectl_shim.install(tmp_path / "bin", log)
    return log, f"{shim.parent}{os.pathsep}{os.environ['PATH']}"


def _audit(tmp_path: Path) -> list[AuditEntry]:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    upgrade_head(url)  # the database exists even when no command wrote to it
    engine = make_engine(url)
    try:
        with session_scope(make_session_factory(engine)) as session:
            return list(session.scalars(select(AuditEntry).order_by(AuditEntry.id)))
    finally:
        engine.dispose()


def _privileged(tmp_path: Path, operation: str) -> float:
    """What the API's privileged_operations_total reports, read from the same audit log."""
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    upgrade_head(url)
    engine = make_engine(url)
    try:
        with session_scope(make_session_factory(engine)) as session:
            return privileged_counts(session).get(operation, 0.0)
    finally:
        engine.dispose()


@pytest.mark.parametrize(("args", "action", "expected"), CASES, ids=lambda v: str(v)[:40])
def test_command_runs_exactly_what_dry_run_prints(
    tmp_path: Path, args: list[str], action: str, expected: list[list[str]]
) -> None:
    log, path = _shim(tmp_path)
    env = _env(tmp_path, path=path)

    dry = runner.invoke(app, ["ops", *args, "--dry-run"], env=env)
    assert dry.exit_code == 0, dry.output
    printed = [shlex.split(line) for line in dry.stdout.splitlines()]
    assert kubectl_shim.calls(log) == []  # a dry run does not even probe kubectl

    before = _privileged(tmp_path, action)
    real = runner.invoke(app, ["ops", *args, "--json"], env=env)
    assert real.exit_code == 0, real.output
    recorded = kubectl_shim.actions(log)
    assert recorded == expected
    assert printed == [["kubectl", *argv] for argv in recorded]

    entries = _audit(tmp_path)
    assert [(e.action, e.actor) for e in entries] == [(action, "cli")]
    assert entries[0].detail["ok"] is True
    assert entries[0].detail["commands"] == [shlex.join(["kubectl", *a]) for a in expected]
    assert _privileged(tmp_path, action) == before + 1
    notes = [f["detail"] for f in json.loads(real.stdout)["findings"] if f["name"] == "next"]
    if args[0] == "redirect-traffic":
        assert notes == [
            "send traffic back: kubectl --context=prod --namespace=synthdata apply -f "
            "monitoring/k8s/api.yaml (until then the source's synthdata-api Service has no "
            "endpoints, so its APIDown alert fires)"
        ]
    if args[0] == "update-resources":
        assert notes == [
            "undo: kubectl --namespace=synthdata rollout undo deployment/synthdata-api"
        ]
    if "synthdata-worker" in args:  # the autoscaler would undo a manual count
        assert notes == [
            "the HorizontalPodAutoscaler synthdata-worker (2-20 replicas) "
            "overrides this count; patch its minReplicas to hold it"
        ]


def test_without_kubectl_nothing_runs_and_exit_is_3(tmp_path: Path) -> None:
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    args = ["ops", "scale", "--replicas", "10", "--json"]
    result = runner.invoke(app, args, env=_env(tmp_path, path=str(empty)))
    assert result.exit_code == 3, result.output
    (finding,) = json.loads(result.stdout)["findings"]
    assert finding["status"] == "unreachable"
    assert finding["detail"] == (
        "kubectl not found on PATH; would have run: "
        "kubectl --namespace=synthdata scale deployment synthdata-api --replicas=10"
    )
    assert _audit(tmp_path) == []


def test_without_a_current_context_only_the_probe_runs(tmp_path: Path) -> None:
    log, path = _shim(tmp_path)
    env = _env(tmp_path, path=path, KUBECTL_SHIM_CONTEXT="")
    result = runner.invoke(app, ["ops", "restart", "--json"], env=env)
    assert result.exit_code == 3, result.output
    assert "no current context" in result.stdout
    assert kubectl_shim.calls(log) == [["config", "current-context"]]


def test_unknown_destination_context_is_unreachable(tmp_path: Path) -> None:
    log, path = _shim(tmp_path)
    env = _env(tmp_path, path=path, KUBECTL_SHIM_CONTEXTS="prod")
    result = runner.invoke(
        app, ["ops", "redirect-traffic", "--from", "prod", "--to", "dr"], env=env
    )
    assert result.exit_code == 3, result.output
    assert "no context named 'dr'" in result.output
    assert kubectl_shim.actions(log) == []


def test_a_failing_step_stops_the_plan_and_is_audited(tmp_path: Path) -> None:
    log, path = _shim(tmp_path)
    env = _env(tmp_path, path=path, KUBECTL_SHIM_FAIL="status")
    args = ["ops", "redirect-traffic", "--from", "prod", "--to", "dr", "--json"]
    result = runner.invoke(app, args, env=env)
    assert result.exit_code == 1, result.output
    # The Service is not patched when the destination never became ready.
    assert [argv[2] for argv in kubectl_shim.actions(log)] == ["scale", "rollout"]
    assert "the server rejected status" in result.stdout
    (entry,) = _audit(tmp_path)
    assert entry.action == "k8s.redirect_traffic" and entry.detail["ok"] is False
    assert entry.detail["returncodes"] == [0, 1, None]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--cpu", "abc", "--memory", "8Gi"], "invalid CPU quantity 'abc'"),
        (["--cpu", "4", "--memory", "8GB"], "invalid memory quantity '8GB'"),
        (["--cpu", "0", "--memory", "8Gi"], "at least 1m"),
        (["--cpu", "4", "--memory", "8Gi", "--memory-request", "9Gi"], "above the limit"),
    ],
)
def test_bad_quantities_are_refused_before_kubectl(
    tmp_path: Path, args: list[str], message: str
) -> None:
    log, path = _shim(tmp_path)
    result = runner.invoke(app, ["ops", "update-resources", *args], env=_env(tmp_path, path=path))
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())
    assert kubectl_shim.calls(log) == []


def test_requests_default_to_half_the_cpu_and_all_the_memory() -> None:
    assert resource_settings("4", "8Gi", None, None) == (
        "cpu=4,memory=8Gi",
        "cpu=2,memory=8Gi",
    )
    assert resource_settings("1", "512Mi", None, None)[1] == "cpu=500m,memory=512Mi"
    assert resource_settings("1.5", "2G", "250m", "1G")[1] == "cpu=250m,memory=1G"
    assert kubectl.cpu_millicores("500m") == 500
    assert kubectl.memory_bytes("8Gi") == 8 * 1024**3
    assert kubectl.memory_bytes("8G") == 8 * 1000**3


def _documents() -> list[dict[str, Any]]:
    import yaml

    root = Path(__file__).resolve().parents[2] / "monitoring" / "k8s"
    return [
        doc
        for path in sorted(root.glob("*.yaml"))
        for doc in yaml.safe_load_all(path.read_text())
        if doc
    ]


def _find(kind: str, name: str) -> dict[str, Any]:
    found = [d for d in _documents() if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind}/{name} is not (once) in monitoring/k8s/"
    return found[0]


def test_the_names_the_commands_use_are_those_of_the_manifests() -> None:
    assert _find("Namespace", kubectl.NAMESPACE)
    for name in (kubectl.API_DEPLOYMENT, kubectl.WORKER_DEPLOYMENT):
        deployment = _find("Deployment", name)
        assert deployment["metadata"]["namespace"] == kubectl.NAMESPACE
        # update-resources sets the container named like its Deployment.
        containers = deployment["spec"]["template"]["spec"]["containers"]
        assert [c["name"] for c in containers] == [name]
    api = _find("Deployment", kubectl.API_DEPLOYMENT)
    assert api["spec"]["replicas"] == kubectl.API_REPLICAS
    service = _find("Service", kubectl.API_SERVICE)
    assert service["metadata"]["namespace"] == kubectl.NAMESPACE
    assert [p["port"] for p in service["spec"]["ports"]] == [kubectl.API_PORT]
    assert service["spec"]["selector"] == api["spec"]["selector"]["matchLabels"]
    hpa = _find("HorizontalPodAutoscaler", kubectl.WORKER_DEPLOYMENT)
    assert hpa["spec"]["scaleTargetRef"]["name"] == kubectl.WORKER_DEPLOYMENT
    limits = (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"])
    assert limits == kubectl.WORKER_HPA_REPLICAS


REAL_KUBECTL = shutil.which("kubectl")


@pytest.mark.skipif(REAL_KUBECTL is None, reason="no kubectl client on this machine")
def test_a_real_kubectl_applies_our_changes_to_the_manifests_offline(tmp_path: Path) -> None:
    """kubectl's own `--local` mode (no cluster) applies our arguments to our manifests."""
    import yaml

    assert REAL_KUBECTL is not None
    target = kubectl.Target()
    limits, requests = resource_settings("4", "8Gi", None, None)
    deployment_file = tmp_path / "deployment.yaml"
    deployment_file.write_text(yaml.safe_dump(_find("Deployment", kubectl.API_DEPLOYMENT)))
    (step,) = resources_plan(target, kubectl.API_DEPLOYMENT, limits, requests).steps
    args = [a for a in step.argv[1:] if a != f"deployment/{kubectl.API_DEPLOYMENT}"]
    changed = _local(REAL_KUBECTL, args, deployment_file)
    (container,) = changed["spec"]["template"]["spec"]["containers"]
    assert container["resources"] == {
        "limits": {"cpu": "4", "memory": "8Gi"},
        "requests": {"cpu": "2", "memory": "8Gi"},
    }

    service_file = tmp_path / "service.yaml"
    service_file.write_text(yaml.safe_dump(_find("Service", kubectl.API_SERVICE)))
    patch = redirect_plan("synthdata", "prod", "dr", "api.dr.example", 2).steps[-1]
    args = [a for a in patch.argv[1:] if not a.startswith("--context=")]
    args.remove(kubectl.API_SERVICE)
    args.remove("service")
    changed = _local(REAL_KUBECTL, args, service_file)
    assert changed["spec"]["type"] == "ExternalName"
    assert changed["spec"]["externalName"] == "api.dr.example"
    assert "selector" not in changed["spec"]


def _local(binary: str, args: list[str], manifest: Path) -> dict[str, Any]:
    done = subprocess.run(
        [binary, *args, "--local", "-f", str(manifest), "-o", "json"],
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": os.environ["PATH"], "KUBECONFIG": str(manifest.parent / "none")},
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result
