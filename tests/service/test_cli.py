"""The admin CLI: create a customer and keys that the API then accepts."""

from __future__ import annotations

import typer
from fastapi.testclient import TestClient
from tests.fixtures.service import clocked_key_cache
from typer.testing import CliRunner

from synthdata.cli.service import admin_app
from synthdata.service.app import create_app


def _invoke(monkeypatch, settings, *args):
    monkeypatch.setenv("SYNTHDATA_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("SYNTHDATA_DATA_DIR", str(settings.data_dir))
    app = typer.Typer()
    app.add_typer(admin_app, name="admin")
    return CliRunner().invoke(app, ["admin", *args])


def test_bootstrap_admin_and_customer_keys(monkeypatch, settings):
    assert _invoke(monkeypatch, settings, "migrate").exit_code == 0
    created = _invoke(
        monkeypatch,
        settings,
        "create-customer",
        "Umbrella",
        "--price-per-1k-rows",
        "0.75",
        "--currency",
        "EUR",
    )
    assert created.exit_code == 0, created.output
    customer_id = created.stdout.strip()
    assert customer_id.startswith("cus_")
    listing = _invoke(monkeypatch, settings, "list-customers")
    assert listing.stdout.split() == [customer_id, "Umbrella", "standard", "0.75", "EUR"]

    key = _invoke(monkeypatch, settings, "create-key", customer_id)
    admin_key = _invoke(monkeypatch, settings, "create-key", "--role", "admin")
    assert key.exit_code == admin_key.exit_code == 0
    secret, admin_secret = key.stdout.strip(), admin_key.stdout.strip()
    with TestClient(create_app(settings, workers=0)) as client:
        clock = clocked_key_cache(client, settings)
        me = client.get("/api/v1/me", headers={"X-API-Key": secret}).json()
        assert me["customer"]["id"] == customer_id
        keys = client.get(
            f"/api/v1/customers/{customer_id}/keys", headers={"X-API-Key": admin_secret}
        ).json()
        revoked = _invoke(monkeypatch, settings, "revoke-key", keys[0]["id"])
        assert revoked.exit_code == 0
        # The CLI is another process: the API trusts its cached answer for at most
        # auth_cache_seconds, then refuses the key.
        clock.now += settings.auth_cache_seconds + 0.1
        assert client.get("/api/v1/me", headers={"X-API-Key": secret}).status_code == 401


def test_user_errors_exit_2(monkeypatch, settings):
    assert _invoke(monkeypatch, settings, "create-key").exit_code == 2
    assert _invoke(monkeypatch, settings, "create-key", "cus_nope").exit_code == 2
    assert _invoke(monkeypatch, settings, "revoke-key", "key_nope").exit_code == 2
    assert (
        _invoke(monkeypatch, settings, "create-customer", "X", "--currency", "euro").exit_code == 2
    )
