"""Customers and API keys (admin only), `/me`, and the audit log."""

from __future__ import annotations

import hashlib

from sqlalchemy import select

from synthdata.service.core.db import make_engine, make_session_factory, session_scope
from synthdata.service.customers.models import ApiKey


def test_admin_creates_customer_and_key_secret_shown_once(client, admin, settings):
    created = client.post(
        "/api/v1/customers",
        headers=admin.headers,
        json={"name": "Initech", "plan": "pro", "price_per_1k_rows": "1.25", "currency": "EUR"},
    )
    assert created.status_code == 201, created.text
    customer = created.json()
    assert customer["price_per_1k_rows"] == "1.25" and customer["currency"] == "EUR"

    key = client.post(
        f"/api/v1/customers/{customer['id']}/keys", headers=admin.headers, json={"name": "ci"}
    ).json()
    assert key["secret"].startswith(key["prefix"]) and key["role"] == "customer"
    listed = client.get(f"/api/v1/customers/{customer['id']}/keys", headers=admin.headers).json()
    assert [k["id"] for k in listed] == [key["id"]]
    assert "secret" not in listed[0]

    # Only the hash is stored.
    engine = make_engine(settings.database_url)
    with session_scope(make_session_factory(engine)) as session:
        row = session.scalars(select(ApiKey).where(ApiKey.id == key["id"])).one()
        assert row.secret_hash == hashlib.sha256(key["secret"].encode()).hexdigest()
        assert key["secret"] not in (row.prefix, row.secret_hash)
    engine.dispose()

    me = client.get("/api/v1/me", headers={"X-API-Key": key["secret"]}).json()
    assert me["customer"]["id"] == customer["id"] and me["role"] == "customer"


def test_revoked_key_stops_working(client, admin, alice):
    assert client.get("/api/v1/me", headers=alice.headers).status_code == 200
    revoked = client.post(f"/api/v1/keys/{alice.key_id}/revoke", headers=admin.headers)
    assert revoked.status_code == 200 and revoked.json()["revoked_at"] is not None
    assert client.get("/api/v1/me", headers=alice.headers).status_code == 401


def test_customers_cannot_administer(client, alice, bob):
    for method, path, body in (
        ("GET", "/api/v1/customers", None),
        ("POST", "/api/v1/customers", {"name": "x"}),
        ("GET", f"/api/v1/customers/{bob.customer_id}", None),
        ("POST", f"/api/v1/customers/{bob.customer_id}/keys", {}),
        ("GET", f"/api/v1/customers/{bob.customer_id}/keys", None),
        ("POST", f"/api/v1/keys/{bob.key_id}/revoke", None),
        ("GET", "/api/v1/admin/audit", None),
        ("GET", "/api/v1/admin/circuit-breakers/synthdata-api", None),
        ("PUT", "/api/v1/admin/circuit-breakers/synthdata-api", {"enabled": True}),
    ):
        response = client.request(method, path, headers=alice.headers, json=body)
        assert response.status_code == 403, (method, path, response.text)
    assert client.get("/api/v1/me", headers=bob.headers).status_code == 200


def test_admin_actions_are_audited(client, admin):
    customer = client.post("/api/v1/customers", headers=admin.headers, json={"name": "A"}).json()
    key = client.post(
        f"/api/v1/customers/{customer['id']}/keys", headers=admin.headers, json={}
    ).json()
    client.post(f"/api/v1/keys/{key['id']}/revoke", headers=admin.headers)
    entries = client.get("/api/v1/admin/audit", headers=admin.headers).json()
    assert [e["action"] for e in entries] == ["api_key.revoke", "api_key.create", "customer.create"]
    assert {e["actor"] for e in entries} == {f"key:{admin.key_id}"}
    assert entries[0]["target"] == key["id"]


def test_customer_list_is_paginated(client, admin):
    ids = [
        client.post("/api/v1/customers", headers=admin.headers, json={"name": f"c{i}"}).json()["id"]
        for i in range(3)
    ]
    first = client.get("/api/v1/customers?limit=2", headers=admin.headers).json()
    assert [c["id"] for c in first["items"]] == ids[::-1][:2]
    second = client.get(
        f"/api/v1/customers?limit=2&cursor={first['next_cursor']}", headers=admin.headers
    ).json()
    assert [c["id"] for c in second["items"]] == [ids[0]] and second["next_cursor"] is None


def test_unknown_customer_is_404(client, admin):
    assert client.get("/api/v1/customers/cus_nope", headers=admin.headers).status_code == 404
    assert client.post("/api/v1/keys/key_nope/revoke", headers=admin.headers).status_code == 404
