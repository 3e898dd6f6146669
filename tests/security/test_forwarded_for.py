"""Issue 13, item 8: X-Forwarded-For is believed from the configured proxies only.

The caller's address decides the per-source limit, the bad-key lockout and the
audit log's `source`. Two attacks used to work against the shipped Kubernetes
Deployment (`--forwarded-allow-ips "*"`): forging X-Forwarded-For to lock another
address out, and rotating it to never be locked out; the audit `source` was the
caller's to choose as well.

The first tests run the real `synthdata serve` with the proxy trust the shipped
manifest gives it (monitoring/k8s/api.yaml and its ConfigMap), on loopback
addresses of their own (127.0.0.x) so that attacker and victim really are two
peers. The others use the app with a trusted proxy network, to show that behind a
real proxy the right-most address the proxy saw is the caller, whatever the client
wrote to the left of it.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from benchmarks.service_processes import SYNTHDATA, base_env, free_port, serve
from fastapi.testclient import TestClient
from pydantic import ValidationError

from synthdata.service.app import create_app
from synthdata.service.core.db import make_engine, make_session_factory, session_scope
from synthdata.service.core.settings import Settings
from synthdata.service.customers.models import CustomerCreate, KeyCreate, Role
from synthdata.service.customers.service import create_customer, create_key
from tests.fixtures.service import Caller

K8S = Path(__file__).resolve().parents[2] / "monitoring" / "k8s"
LOCKOUT = 5  # bad keys before a source is locked out (the tests' setting)


def shipped_proxy_trust() -> tuple[list[str], dict[str, str]]:
    """The `serve` flag and the variables that set the API Deployment's proxy trust."""
    docs = [
        d
        for name in ("api.yaml", "config.yaml")
        for d in yaml.safe_load_all((K8S / name).read_text())
        if d
    ]
    (deployment,) = [
        d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"] == "synthdata-api"
    ]
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    args: list[str] = container["args"]
    flags: list[str] = []
    if "--forwarded-allow-ips" in args:
        flags = ["--forwarded-allow-ips", args[args.index("--forwarded-allow-ips") + 1]]
    env: dict[str, str] = {}
    config_maps = {d["metadata"]["name"]: d for d in docs if d["kind"] == "ConfigMap"}
    for source in container.get("envFrom", []):
        data = config_maps[source["configMapRef"]["name"]]["data"]
        env.update({k: v for k, v in data.items() if k == "SYNTHDATA_TRUSTED_PROXIES"})
    for entry in container.get("env", []):
        if entry["name"] == "SYNTHDATA_TRUSTED_PROXIES":
            env[entry["name"]] = entry["value"]
    return flags, env


class Deployed:
    """The API as the manifest runs it, reached from chosen loopback addresses."""

    def __init__(self, url: str, customer: str, admin: str) -> None:
        self.url = url
        self.customer_key = customer
        self.admin_key = admin

    def peer(self, address: str) -> httpx.Client:
        transport = httpx.HTTPTransport(local_address=address)
        return httpx.Client(base_url=self.url, transport=transport, timeout=30.0)


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployed]:
    home = tmp_path_factory.mktemp("deployed")
    flags, trust = shipped_proxy_trust()
    env = base_env(
        home,
        SYNTHDATA_ENVIRONMENT="test",
        SYNTHDATA_LOG_LEVEL="WARNING",
        SYNTHDATA_SERVE_WORKERS="0",
        SYNTHDATA_AUTH_LOCKOUT_FAILURES=str(LOCKOUT),
        **trust,
    )
    with serve("serve", env, home, ["--workers", "1", *flags]) as proc:
        engine = make_engine(env["SYNTHDATA_DATABASE_URL"])
        with session_scope(make_session_factory(engine)) as session:
            customer = create_customer(session, CustomerCreate(name="Victim"))  # type: ignore[call-arg]
            _, customer_key = create_key(session, customer.id, KeyCreate(role=Role.CUSTOMER))
            _, admin_key = create_key(session, None, KeyCreate(role=Role.ADMIN))
        engine.dispose()
        yield Deployed(proc.url, customer_key, admin_key)


def _bad_keys(client: httpx.Client, forwarded: Callable[[int], str], count: int) -> list[int]:
    return [
        client.get(
            "/api/v1/me", headers={"X-API-Key": f"sk_bad_{n}", "X-Forwarded-For": forwarded(n)}
        ).status_code
        for n in range(count)
    ]


def test_the_manifest_trusts_no_forwarded_for_from_anyone() -> None:
    flags, env = shipped_proxy_trust()
    assert "*" not in flags
    assert env.get("SYNTHDATA_TRUSTED_PROXIES"), "the manifest names its proxies"
    Settings(trusted_proxies=env["SYNTHDATA_TRUSTED_PROXIES"])  # a valid list of CIDRs


def test_a_forged_forwarded_for_cannot_lock_out_another_address(deployed: Deployed) -> None:
    victim = "127.0.0.3"
    with deployed.peer("127.0.0.2") as attacker:
        statuses = _bad_keys(attacker, lambda _: victim, LOCKOUT + 3)
    assert statuses[-1] == 429, statuses  # the attacker locked itself out, not the victim
    with deployed.peer(victim) as client:
        answer = client.get("/api/v1/me", headers={"X-API-Key": deployed.customer_key})
    assert answer.status_code == 200, answer.text


def test_rotating_forwarded_for_does_not_escape_the_lockout(deployed: Deployed) -> None:
    with deployed.peer("127.0.0.4") as attacker:
        statuses = _bad_keys(attacker, lambda n: f"203.0.113.{n + 1}", LOCKOUT + 3)
        assert statuses[: LOCKOUT - 1] == [401] * (LOCKOUT - 1), statuses
        assert set(statuses[LOCKOUT - 1 :]) == {429}, statuses
        again = attacker.get(
            "/api/v1/me",
            headers={"X-API-Key": deployed.customer_key, "X-Forwarded-For": "198.51.100.200"},
        )
    assert again.status_code == 429, again.text


def test_the_audit_source_is_the_real_peer(deployed: Deployed) -> None:
    headers = {"X-API-Key": deployed.admin_key}
    with deployed.peer("127.0.0.5") as admin:
        created = admin.post(
            "/api/v1/customers",
            json={"name": "Audited"},
            headers={**headers, "X-Forwarded-For": "6.6.6.6"},
        )
        assert created.status_code == 201, created.text
        entries = admin.get(
            "/api/v1/admin/audit", params={"action": "customer.create"}, headers=headers
        )
    (entry,) = [e for e in entries.json() if e["target"] == created.json()["id"]]
    assert entry["source"] == "127.0.0.5"


# -- behind a trusted proxy ---------------------------------------------------------------
PROXY = ("10.9.0.7", 443)


@pytest.fixture
def behind_proxy(settings_for: Callable[..., Settings]) -> Iterator[Callable[..., TestClient]]:
    """The app behind a proxy in the trusted network 10.9.0.0/16, or reached directly."""
    settings = settings_for(trusted_proxies="10.9.0.0/16", auth_lockout_failures=LOCKOUT)
    app = create_app(settings, workers=0)
    with TestClient(app):  # the app's lifespan, once; each peer is a client of that app
        yield lambda address=PROXY: TestClient(app, client=address)


def _me(client: TestClient, key: str, forwarded: str | None = None) -> Any:
    headers = {"X-API-Key": key}
    if forwarded is not None:
        headers["X-Forwarded-For"] = forwarded
    return client.get("/api/v1/me", headers=headers)


def test_behind_the_proxy_the_right_most_untrusted_hop_is_the_caller(
    behind_proxy: Callable[..., TestClient], alice: Caller, admin: Caller
) -> None:
    proxy = behind_proxy()
    # The client 203.0.113.50 writes its own X-Forwarded-For (the left part); the
    # proxies append what they saw. Forging or rotating the left part changes nothing.
    for n in range(LOCKOUT + 2):
        _me(proxy, f"sk_bad_{n}", f"198.51.100.{n}, 203.0.113.50, 10.9.0.8")
    assert _me(proxy, alice.secret, "198.51.100.77, 203.0.113.50").status_code == 429
    # ... and it locked out 203.0.113.50 only: the addresses it named are fine.
    assert _me(proxy, alice.secret, "198.51.100.1").status_code == 200
    assert _me(proxy, alice.secret).status_code == 200  # the proxy's own request
    created = proxy.post(
        "/api/v1/customers",
        json={"name": "Via proxy"},
        headers={**admin.headers, "X-Forwarded-For": "6.6.6.6, 192.0.2.44"},
    )
    assert created.status_code == 201, created.text
    audit = proxy.get("/api/v1/admin/audit", headers=admin.headers).json()
    (entry,) = [e for e in audit if e["target"] == created.json()["id"]]
    assert entry["source"] == "192.0.2.44"


def test_a_peer_outside_the_trusted_network_is_the_caller_whatever_it_says(
    behind_proxy: Callable[..., TestClient], alice: Caller
) -> None:
    direct = behind_proxy(("192.0.2.99", 5000))
    for n in range(LOCKOUT + 2):
        _me(direct, f"sk_bad_{n}", f"10.9.0.{n + 10}")  # pretends to be proxied traffic
    assert _me(direct, alice.secret, "198.51.100.3").status_code == 429
    assert _me(behind_proxy(), alice.secret, "10.9.0.10, 198.51.100.3").status_code == 200


@pytest.mark.parametrize("value", ["*", "127.0.0.1,*", "proxy.internal", "10.0.0.0/33"])
def test_trusting_everyone_or_a_name_is_refused(value: str) -> None:
    with pytest.raises(ValidationError):
        Settings(trusted_proxies=value)


def test_serve_refuses_to_trust_everyone(tmp_path: Path) -> None:
    done = subprocess.run(
        [*SYNTHDATA, "serve", "--port", str(free_port()), "--forwarded-allow-ips", "*"],
        env=base_env(tmp_path, SYNTHDATA_ENVIRONMENT="test"),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2, done.stderr[-1000:]
    assert "SYNTHDATA_TRUSTED_PROXIES" in done.stderr
