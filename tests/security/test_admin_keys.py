"""Issue 13, item 10: `create-key CUSTOMER_ID --admin` minted a platform-wide admin.

Its help promised "an admin key of that customer", but an admin key acts for every
customer: the key could read and change another customer's data. The ambiguous form
is refused now (exit 2, nothing created), and the help says what an admin key is.
"""

from __future__ import annotations

import typer
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from synthdata.cli.service import admin_app
from synthdata.service.app import create_app
from synthdata.service.core.db import make_engine
from synthdata.service.customers.models import ApiKey


def _invoke(monkeypatch, settings, *args):
    monkeypatch.setenv("SYNTHDATA_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("SYNTHDATA_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("COLUMNS", "200")
    app = typer.Typer()
    app.add_typer(admin_app, name="admin")
    return CliRunner().invoke(app, ["admin", *args])


def _key_count(settings) -> int:
    engine = make_engine(settings.database_url)
    try:
        with engine.connect() as connection:
            return int(connection.execute(select(func.count()).select_from(ApiKey)).scalar_one())
    finally:
        engine.dispose()


def test_admin_key_for_a_customer_is_refused(monkeypatch, settings, bob):
    created = _invoke(monkeypatch, settings, "create-customer", "Acme")
    assert created.exit_code == 0, created.output
    acme = created.stdout.strip()
    before = _key_count(settings)
    for form in (["--admin"], ["--role", "admin"]):
        refused = _invoke(monkeypatch, settings, "create-key", acme, *form)
        assert refused.exit_code == 2, refused.output
        assert "platform-wide" in refused.output and "every customer" in refused.output
        assert refused.stdout.strip() == ""  # no secret printed
    assert _key_count(settings) == before  # and none stored


def test_help_says_what_an_admin_key_is(monkeypatch, settings):
    shown = _invoke(monkeypatch, settings, "create-key", "--help")
    assert shown.exit_code == 0
    text = " ".join(shown.output.split())
    assert "an admin key of" not in text
    assert "every customer" in text


def test_the_two_forms_that_remain_do_what_they_say(monkeypatch, settings, bob):
    acme = _invoke(monkeypatch, settings, "create-customer", "Acme").stdout.strip()
    customer_key = _invoke(monkeypatch, settings, "create-key", acme)
    admin_key = _invoke(monkeypatch, settings, "create-key", "--admin")
    assert customer_key.exit_code == admin_key.exit_code == 0
    with TestClient(create_app(settings, workers=0)) as client:
        customer = {"X-API-Key": customer_key.stdout.strip()}
        admin = {"X-API-Key": admin_key.stdout.strip()}
        assert client.get("/api/v1/me", headers=customer).json()["customer"]["id"] == acme
        # The customer key stays inside Acme; the admin key reaches Bob's data as well.
        assert (
            client.get(f"/api/v1/jobs?customer_id={bob.customer_id}", headers=customer).status_code
            == 403
        )
        me = client.get("/api/v1/me", headers=admin).json()
        assert me["role"] == "admin" and me["customer"] is None
        assert client.get(f"/api/v1/customers/{bob.customer_id}", headers=admin).status_code == 200
