"""Certificate expiry is on as shipped (issue 14, item 9).

`cert_expiry_seconds` (and so CertificateExpiringSoon) reports nothing unless the API
is told which certificates to watch (`SYNTHDATA_CERT_FILES`, `SYNTHDATA_TLS_ENDPOINTS`).
The shipped deployments must set them for the service's own HTTPS endpoint:

- Kubernetes: the Ingress's TLS host is probed, and its Secret's certificate (never
  the key) is mounted into the API pods and read as a file;
- Compose: `docker compose up` refuses to start without the endpoint.

The values are read from the shipped files and parsed by the service's own settings,
then the watch is run on a certificate at that path and on a live TLS endpoint.
"""

from __future__ import annotations

import datetime as dt
import re
import socket
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from synthdata.observability.certificates import CertificateWatch
from synthdata.service.core.settings import Settings
from tests.fixtures.monitoring import MONITORING

K8S = MONITORING / "k8s"
COMPOSE = MONITORING / "compose.yaml"


def _k8s(kind: str) -> dict[str, dict[str, Any]]:
    found = {}
    for path in sorted(K8S.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc and doc["kind"] == kind:
                found[doc["metadata"]["name"]] = doc
    return found


def _api_container() -> tuple[dict[str, Any], dict[str, Any]]:
    pod = _k8s("Deployment")["synthdata-api"]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    return pod, container


def _api_env() -> dict[str, str]:
    _, container = _api_container()
    return {e["name"]: e["value"] for e in container.get("env", []) if "value" in e}


def _certificate(path: Path, host: str, days: int) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=days))
        .sign(key, hashes.SHA256())
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path = path.with_name("tls.key")
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return path, key_path


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[str, int]]:
    """A TLS listener on loopback presenting a certificate that expires in 20 days."""
    cert, key = _certificate(tmp_path / "server" / "tls.crt", "localhost", 20)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    stop = threading.Event()

    def serve() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                raw, _ = listener.accept()
            except TimeoutError:
                continue
            try:
                with context.wrap_socket(raw, server_side=True):
                    pass
            except (ssl.SSLError, OSError):
                pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield "127.0.0.1", port
    stop.set()
    thread.join(timeout=5)
    listener.close()


# -- Kubernetes -------------------------------------------------------------------------------
def test_the_api_watches_the_certificate_of_its_own_https_endpoint() -> None:
    (ingress,) = _k8s("Ingress").values()
    backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend["name"] == "synthdata-api"
    tls_hosts = {host for entry in ingress["spec"]["tls"] for host in entry["hosts"]}
    (secret_name,) = {entry["secretName"] for entry in ingress["spec"]["tls"]}
    env = _api_env()
    settings = Settings(
        environment="test",
        cert_files=env.get("SYNTHDATA_CERT_FILES", ""),
        tls_endpoints=env.get("SYNTHDATA_TLS_ENDPOINTS", ""),
    )
    # The endpoint: every TLS host of the Ingress, on 443.
    assert set(settings.tls_endpoint_list) >= {f"{host}:443" for host in tls_hosts}
    # The file: inside a volume of the Ingress's Secret, which carries the certificate only.
    (cert_file,) = settings.cert_file_paths
    pod, container = _api_container()
    volumes = {v["name"]: v for v in pod["volumes"]}
    mounts = [m for m in container["volumeMounts"] if cert_file.is_relative_to(m["mountPath"])]
    assert len(mounts) == 1, container["volumeMounts"]
    (mount,) = mounts
    assert mount.get("readOnly") is True
    secret = volumes[mount["name"]]["secret"]
    assert secret["secretName"] == secret_name
    items = {item["key"]: item["path"] for item in secret["items"]}
    assert items == {"tls.crt": str(cert_file.relative_to(mount["mountPath"]))}, "no tls.key"


def test_the_worker_is_not_asked_to_probe_the_endpoint() -> None:
    """The API reports it; the ConfigMap both Deployments read stays without it."""
    (config,) = [c for n, c in _k8s("ConfigMap").items() if n == "synthdata-config"]
    assert not {"SYNTHDATA_CERT_FILES", "SYNTHDATA_TLS_ENDPOINTS"} & set(config["data"])


def test_the_shipped_settings_report_an_expiry(tmp_path: Path, tls_server: tuple[str, int]) -> None:
    """The shipped file path and endpoint list, run through the real watch."""
    env = _api_env()
    shipped_file = Path(env["SYNTHDATA_CERT_FILES"])
    local_file = tmp_path / "pod" / shipped_file.relative_to("/")
    _certificate(local_file, "synthdata.inferloop.com", 45)
    host, port = tls_server
    endpoints = [f"{host}:{port}"]  # the shipped host is not reachable from a test
    settings = Settings(
        environment="test", cert_files=str(local_file), tls_endpoints=",".join(endpoints)
    )
    seen = CertificateWatch(settings.cert_file_paths, settings.tls_endpoint_list)()
    assert 44 * 86400 < seen[str(local_file)] < 45 * 86400
    assert 19 * 86400 < seen[endpoints[0]] < 20 * 86400
    assert re.fullmatch(r"[\w.-]+:\d+", env["SYNTHDATA_TLS_ENDPOINTS"])


# -- Compose ----------------------------------------------------------------------------------
def test_compose_requires_the_endpoint_of_the_api() -> None:
    services = yaml.safe_load(COMPOSE.read_text())["services"]
    value = services["api"]["environment"].get("SYNTHDATA_TLS_ENDPOINTS", "")
    # `${VAR?message}`: unset refuses to start; an explicit empty value opts out.
    assert re.fullmatch(r"\$\{SYNTHDATA_TLS_ENDPOINTS\?[^}]+\}", value), value
    # The rest of the shared environment is kept.
    assert services["api"]["environment"]["SYNTHDATA_QUEUE"] == "redis"
    assert "SYNTHDATA_TLS_ENDPOINTS" not in (services["worker"].get("environment") or {})
