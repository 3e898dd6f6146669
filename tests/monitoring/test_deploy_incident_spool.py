"""The incident spool as it is deployed: the Kubernetes manifest, the Compose service and
the generated Alertmanager configuration all send incidents through it.

The schema validation of the manifest is test_deploy.py's (every file under k8s/);
here the spool's own requirements: one writer of one file that outlives the pod, the
API's image, token and hardening, probes that the real spool answers.
"""

from __future__ import annotations

import json
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from synthdata.service.core.settings import Settings
from synthdata.service.incidents.spool import Spool
from synthdata.service.incidents.spool_server import WEBHOOK_PATH, Forwarder, make_server
from tests.fixtures.manifests import compose, listen_port, of_kind
from tests.fixtures.monitoring import MONITORING

NAME = "synthdata-incident-spool"


def _container(deployment: dict[str, Any]) -> dict[str, Any]:
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    return container


def _arg(container: dict[str, Any], flag: str) -> str:
    args: list[str] = container["args"]
    return args[args.index(flag) + 1]


def _env(container: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e for e in container["env"]}


def test_one_spool_pod_owns_its_volume() -> None:
    deployment = of_kind("Deployment")[NAME]
    spec = deployment["spec"]
    # One SQLite file, one writer: never two pods, not even during a rollout.
    assert spec["replicas"] == 1
    assert spec["strategy"] == {"type": "Recreate"}
    container = _container(deployment)
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in spec["template"]["spec"]["volumes"]}
    claim = volumes["spool"]["persistentVolumeClaim"]["claimName"]
    pvc = of_kind("PersistentVolumeClaim")[claim]
    assert pvc["metadata"]["namespace"] == deployment["metadata"]["namespace"]
    assert pvc["spec"]["accessModes"] == ["ReadWriteOnce"]
    assert pvc["spec"]["resources"]["requests"]["storage"] == "1Gi"
    # The spool file is on that volume, not in the container's (read-only) file system.
    assert Path(_arg(container, "--spool-file")).parent == Path(mounts["spool"])


def test_the_spool_runs_like_the_api() -> None:
    deployments = of_kind("Deployment")
    spool, api = _container(deployments[NAME]), _container(deployments["synthdata-api"])
    assert spool["name"] == NAME
    assert spool["image"] == api["image"]
    assert spool["args"][0] == "incident-spool"
    assert spool["securityContext"] == api["securityContext"]
    pod = deployments[NAME]["spec"]["template"]["spec"]
    assert (
        pod["securityContext"]
        == deployments["synthdata-api"]["spec"]["template"]["spec"]["securityContext"]
    )
    for kind in ("requests", "limits"):
        assert {"cpu", "memory"} <= set(spool["resources"][kind]), kind
    # The token the API checks is the one the spool checks and forwards with.
    token = _env(spool)["SYNTHDATA_ALERT_WEBHOOK_TOKEN"]["valueFrom"]["secretKeyRef"]
    assert token == _env(api)["SYNTHDATA_ALERT_WEBHOOK_TOKEN"]["valueFrom"]["secretKeyRef"]
    assert token["name"] == "synthdata-secrets" and not token.get("optional")


def test_the_spool_listens_where_alertmanager_posts_and_forwards_to_the_api() -> None:
    deployment = of_kind("Deployment")[NAME]
    container = _container(deployment)
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert int(_arg(container, "--port")) == ports["http"] == 9095
    assert _arg(container, "--host") == "0.0.0.0"
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        assert container[probe]["httpGet"] == {"path": "/healthz", "port": "http"}, probe
    service = of_kind("Service")[NAME]
    (port,) = service["spec"]["ports"]
    assert (port["port"], port["targetPort"]) == (9095, "http")
    namespace = service["metadata"]["namespace"]
    secret = of_kind("Secret")["alertmanager-synthdata-config"]
    cluster = yaml.safe_load(secret["stringData"]["alertmanager.yaml"])
    hooks = {h["url"] for r in cluster["receivers"] for h in r.get("webhook_configs", [])}
    assert hooks == {f"http://{NAME}.{namespace}.svc:{port['port']}{WEBHOOK_PATH}"}
    api = of_kind("Service")["synthdata-api"]
    api_url = f"http://synthdata-api.{api['metadata']['namespace']}.svc"
    assert _arg(container, "--api-url") == f"{api_url}:{api['spec']['ports'][0]['port']}"


def test_the_compose_spool_keeps_its_file_and_needs_no_database() -> None:
    config = compose()
    spool = config["services"]["incident-spool"]
    assert spool["command"][0] == "incident-spool"
    assert spool["image"] == config["services"]["api"]["image"]
    (volume,) = spool["volumes"]
    name, mount = volume.split(":", 1)
    assert name in config["volumes"]
    spool_file = spool["command"][spool["command"].index("--spool-file") + 1]
    assert Path(spool_file).parent == Path(mount)
    # It takes notifications while PostgreSQL and Redis are down.
    assert not spool.get("depends_on")
    token_file = "/run/secrets/incident-webhook-token"
    for service in ("incident-spool", "api"):
        settings = config["services"][service]
        assert settings["environment"]["SYNTHDATA_ALERT_WEBHOOK_TOKEN_FILE"] == token_file
        assert "incident-webhook-token" in settings["secrets"], service
    assert listen_port(spool) == 9095


@pytest.fixture
def running_spool(tmp_path: Path) -> Iterator[str]:
    """The real spool server on a free port (its forwarder is not started)."""
    store = Spool(tmp_path / "spool.sqlite3")
    forwarder = Forwarder(store, "http://127.0.0.1:9", Settings(alert_webhook_token="t"))
    server = make_server("127.0.0.1", 0, store, forwarder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        store.close()


def test_the_probe_path_is_answered_by_the_real_spool(running_spool: str) -> None:
    probe = _container(of_kind("Deployment")[NAME])["livenessProbe"]["httpGet"]["path"]
    with urllib.request.urlopen(running_spool + probe, timeout=5) as response:
        assert response.status == 200
        assert json.loads(response.read())["pending"] == 0


def test_the_spool_manifest_is_applied_with_the_others() -> None:
    """`kubectl apply -f monitoring/k8s/` takes it (test_deploy validates every file there)."""
    path = MONITORING / "k8s" / "incident-spool.yaml"
    kinds = [doc["kind"] for doc in yaml.safe_load_all(path.read_text())]
    assert kinds == ["Deployment", "PersistentVolumeClaim", "Service"]
