"""Shared nothing in the deployment files: the API and the workers keep their artifacts
in an S3-compatible object store, not on a ReadWriteMany volume, and read its
credentials from a Secret that is not in git.

Offline, like test_deploy.py (whose schema check validates every manifest here,
the optional MinIO included): the Kubernetes manifests, the MinIO Helm values and the
Compose file are read as YAML and checked against each other, so that the endpoint,
bucket and Secret keys the service is given are the ones the bundled store serves.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

import yaml

from tests.fixtures.manifests import (
    K8S,
    OPTIONAL_OBJECT_STORE,
    compose,
    documents,
    listen_port,
    of_kind,
)

APP = ("synthdata-api", "synthdata-worker")
SECRET = "synthdata-object-store"
STORE_SETTINGS = ("SYNTHDATA_S3_ENDPOINT", "SYNTHDATA_S3_BUCKET", "SYNTHDATA_S3_REGION")
CREDENTIALS = ("SYNTHDATA_S3_ACCESS_KEY_ID", "SYNTHDATA_S3_SECRET_ACCESS_KEY")
# A variable that would carry a credential if it had a value of its own.
SECRET_NAME = re.compile(r"(SECRET|ACCESS_KEY|PASSWORD|TOKEN|ROOT_USER)", re.I)


def _pod(name: str) -> dict[str, Any]:
    return dict(of_kind("Deployment")[name]["spec"]["template"]["spec"])


def _container(name: str) -> dict[str, Any]:
    (container,) = _pod(name)["containers"]
    return dict(container)


def _config() -> dict[str, str]:
    return dict(of_kind("ConfigMap")["synthdata-config"]["data"])


def _env(name: str) -> dict[str, dict[str, Any]]:
    return {e["name"]: e for e in _container(name)["env"]}


def _secret_mount(name: str) -> str:
    """Where the object store's Secret is mounted in the pod (each key a file)."""
    pod, container = _pod(name), _container(name)
    volumes = {
        v["name"]: v["secret"]
        for v in pod["volumes"]
        if v.get("secret", {}).get("secretName") == SECRET
    }
    (mount,) = [m for m in container["volumeMounts"] if m["name"] in volumes]
    assert mount.get("readOnly") is True
    items = volumes[mount["name"]].get("items")
    assert items is None, "every key of the Secret is mounted as a file of its name"
    return str(mount["mountPath"])


def _credential_keys(name: str) -> dict[str, str]:
    """SYNTHDATA_S3_*_FILE -> the Secret key the file is (its name in the mount)."""
    mount_path = _secret_mount(name)
    keys = {}
    for variable in CREDENTIALS:
        path = PurePosixPath(_env(name)[f"{variable}_FILE"]["value"])
        assert path.parent == PurePosixPath(mount_path), (name, variable, path)
        keys[variable] = path.name
    return keys


def _minio_secret_keys(env: list[dict[str, Any]]) -> dict[str, str]:
    return {
        e["name"]: e["valueFrom"]["secretKeyRef"]["key"]
        for e in env
        if e.get("valueFrom", {}).get("secretKeyRef", {}).get("name") == SECRET
    }


# -- Kubernetes ---------------------------------------------------------------------------
def test_no_read_write_many_claim_and_no_claim_on_the_api_or_workers() -> None:
    for path, doc in documents():
        if doc["kind"] == "PersistentVolumeClaim":
            assert "ReadWriteMany" not in doc["spec"]["accessModes"], path
        if doc["kind"] == "StatefulSet":
            for claim in doc["spec"].get("volumeClaimTemplates", []):
                assert claim["spec"]["accessModes"] == ["ReadWriteOnce"], path
    for name in APP:
        for volume in _pod(name)["volumes"]:
            assert "persistentVolumeClaim" not in volume, (name, volume["name"])
            assert set(volume) & {"emptyDir", "secret"}, (name, volume)
        # Every mount is one of those pod-private volumes.
        mounted = {m["name"] for m in _container(name)["volumeMounts"]}
        assert mounted <= {v["name"] for v in _pod(name)["volumes"]}


def test_api_and_workers_use_the_object_store_and_a_private_work_dir() -> None:
    config = _config()
    assert config["SYNTHDATA_STORE"] == "s3"
    for variable in STORE_SETTINGS:
        assert config[variable], variable
    assert "SYNTHDATA_S3_PREFIX" in config
    assert urlsplit(config["SYNTHDATA_S3_ENDPOINT"]).scheme in {"http", "https"}
    for name in APP:
        container = _container(name)
        assert {"configMapRef": {"name": "synthdata-config"}} in container["envFrom"]
        volumes = {v["name"]: v for v in _pod(name)["volumes"]}
        # The mount that holds the work dir: the deepest one above it.
        work = max(
            (
                m
                for m in container["volumeMounts"]
                if Path(config["SYNTHDATA_WORK_DIR"]).is_relative_to(m["mountPath"])
            ),
            key=lambda m: len(Path(m["mountPath"]).parts),
        )
        assert "emptyDir" in volumes[work["name"]], name
        assert volumes[work["name"]]["emptyDir"].get("sizeLimit"), "scratch has a budget"
        keys = _credential_keys(name)
        assert keys == {
            "SYNTHDATA_S3_ACCESS_KEY_ID": "access-key-id",
            "SYNTHDATA_S3_SECRET_ACCESS_KEY": "secret-access-key",
        }


def test_the_credentials_are_never_inline() -> None:
    """The Secret is created by hand (config.yaml says how), never shipped with values;
    no container carries a credential as a literal value."""
    for path, doc in documents():
        if doc["kind"] == "Secret":
            assert doc["metadata"]["name"] != SECRET, f"{path}: the store's key is in git"
        if doc["kind"] == "ConfigMap":
            for key in doc.get("data", {}):
                assert not (key.startswith("SYNTHDATA_S3_") and SECRET_NAME.search(key)), key
        if doc["kind"] not in {"Deployment", "StatefulSet", "Job"}:
            continue
        for container in doc["spec"]["template"]["spec"]["containers"]:
            for env in container.get("env", []):
                if SECRET_NAME.search(env["name"]) and not env["name"].endswith("_FILE"):
                    assert "value" not in env, (path, env["name"])
    for name in APP:
        env = _env(name)
        for variable in CREDENTIALS:
            assert variable not in env and variable not in _config(), variable
    assert (
        f"kubectl -n synthdata create secret generic {SECRET}" in (K8S / "config.yaml").read_text()
    )


def test_the_optional_minio_serves_the_configured_endpoint_bucket_and_key() -> None:
    # Optional: `kubectl apply -f monitoring/k8s/` (no -R) leaves it out.
    assert OPTIONAL_OBJECT_STORE.parent == K8S
    shipped_by_default = [
        doc["metadata"]["name"]
        for path in sorted(K8S.glob("*.yaml"))
        for doc in yaml.safe_load_all(path.read_text())
        if doc
    ]
    assert "synthdata-minio" not in shipped_by_default
    endpoint = urlsplit(_config()["SYNTHDATA_S3_ENDPOINT"])
    service = of_kind("Service")["synthdata-minio"]
    assert endpoint.hostname == f"{service['metadata']['name']}.synthdata.svc"
    assert endpoint.port in {p["port"] for p in service["spec"]["ports"]}
    minio = of_kind("StatefulSet")["synthdata-minio"]
    assert minio["spec"]["serviceName"] == service["metadata"]["name"]
    (server,) = minio["spec"]["template"]["spec"]["containers"]
    app_keys = _credential_keys("synthdata-api")
    assert _minio_secret_keys(server["env"]) == {
        "MINIO_ROOT_USER": app_keys["SYNTHDATA_S3_ACCESS_KEY_ID"],
        "MINIO_ROOT_PASSWORD": app_keys["SYNTHDATA_S3_SECRET_ACCESS_KEY"],
    }
    job = of_kind("Job")["synthdata-minio-bucket"]
    (mc,) = job["spec"]["template"]["spec"]["containers"]
    from_config = {
        e["name"]: e["valueFrom"]["configMapKeyRef"]
        for e in mc["env"]
        if "configMapKeyRef" in e.get("valueFrom", {})
    }
    assert {ref["name"] for ref in from_config.values()} == {"synthdata-config"}
    assert {ref["key"] for ref in from_config.values()} == {
        "SYNTHDATA_S3_ENDPOINT",
        "SYNTHDATA_S3_BUCKET",
    }
    script = " ".join(mc["args"])
    assert "mc mb --ignore-existing" in script
    assert set(_minio_secret_keys(mc["env"]).values()) == set(app_keys.values())


def test_the_minio_helm_values_agree_with_the_manifests() -> None:
    values = yaml.safe_load((K8S / "helm" / "minio-values.yaml").read_text())
    config = _config()
    endpoint = urlsplit(config["SYNTHDATA_S3_ENDPOINT"])
    assert endpoint.hostname == f"{values['fullnameOverride']}.synthdata.svc"
    assert endpoint.port == int(values["service"]["port"])
    assert [b["name"] for b in values["buckets"]] == [config["SYNTHDATA_S3_BUCKET"]]
    (user,) = values["users"]
    assert "secretKey" not in user, "the user's secret comes from the Secret, not values"
    assert user["existingSecret"] == SECRET
    assert (
        user["existingSecretKey"]
        == _credential_keys("synthdata-worker")["SYNTHDATA_S3_SECRET_ACCESS_KEY"]
    )
    assert not {"rootUser", "rootPassword", "secretKey"} & set(values)
    assert values["persistence"]["accessMode"] == "ReadWriteOnce"


# -- Compose ------------------------------------------------------------------------------
def test_compose_runs_minio_and_shares_no_artifact_volume() -> None:
    config = compose()
    services = config["services"]
    minio, init = services["minio"], services["minio-init"]
    for name in ("api", "worker"):
        service = services[name]
        env = service["environment"]
        assert env["SYNTHDATA_STORE"] == "s3"
        endpoint = urlsplit(env["SYNTHDATA_S3_ENDPOINT"])
        assert (endpoint.hostname, endpoint.port) == ("127.0.0.1", listen_port(minio))
        assert f"store/{env['SYNTHDATA_S3_BUCKET']}" in " ".join(init["command"])
        assert env["SYNTHDATA_WORK_DIR"]
        # No named volume: each container's files are its own.
        assert not service.get("volumes"), name
        assert service["depends_on"]["minio-init"] == {
            "condition": "service_completed_successfully"
        }
        # Credentials: files of Compose secrets, which come from the environment.
        for variable in CREDENTIALS:
            assert variable not in env
            path = PurePosixPath(env[f"{variable}_FILE"])
            assert path.parent == PurePosixPath("/run/secrets")
            assert path.name in service["secrets"]
            assert set(config["secrets"][path.name]) == {"environment"}
        for variable, value in env.items():
            if SECRET_NAME.search(variable) and not variable.endswith("_FILE"):
                assert str(value).startswith("${"), f"{name}: {variable} is inline"
    for variable in ("MINIO_ROOT_USER", "MINIO_ROOT_PASSWORD"):
        assert variable not in minio["environment"]
        assert minio["environment"][f"{variable}_FILE"] in minio["secrets"]
    assert "artifacts" not in config["volumes"]
    assert any(v.endswith(":/data") for v in minio["volumes"])
