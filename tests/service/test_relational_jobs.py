"""Datasets of linked tables through the API: a .zip upload, its detected keys, a job run
by the embedded worker that writes a zip of tables whose keys join, the charge over all
tables, and every bad bundle or plan limit refused with 422 and one line."""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from tests.fixtures.service import serving

from synthdata.client import Client
from synthdata.relational import read_bundle
from synthdata.service.app import create_app

CUSTOMERS = 80
ORDERS = 240
LINK = {
    "child": "orders",
    "columns": ["customer_id"],
    "parent": "customers",
    "parent_columns": ["customer_id"],
}
KEYS = {"customers": {"primary_key": ["customer_id"]}, "orders": {"primary_key": ["order_id"]}}


def _tables() -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(5)
    customers = pd.DataFrame(
        {
            "customer_id": np.arange(1, CUSTOMERS + 1),
            "segment": rng.choice(["retail", "business"], CUSTOMERS),
            "age": rng.integers(18, 80, CUSTOMERS),
        }
    )
    orders = pd.DataFrame(
        {
            "order_id": np.arange(9000, 9000 + ORDERS),
            "customer_id": rng.choice(customers["customer_id"], ORDERS),
            "amount": rng.lognormal(3, 0.4, ORDERS).round(2),
            "channel": rng.choice(["web", "shop"], ORDERS),
        }
    )
    return {"customers": customers, "orders": orders}


def _zip(files: dict[str, bytes | str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def _shop(**extra: bytes | str) -> bytes:
    tables = _tables()
    return _zip(
        {
            "customers.csv": tables["customers"].to_csv(index=False),
            "orders.parquet": tables["orders"].to_parquet(index=False),
            **extra,
        }
    )


def _post(client: TestClient, caller, content: bytes, name: str = "shop.zip"):
    return client.post(
        "/api/v1/datasets",
        headers=caller.headers,
        files={"file": (name, content, "application/zip")},
    )


def _job(client: TestClient, caller, body: dict):
    return client.post("/api/v1/jobs", headers=caller.headers, json=body)


def _read_zip(content: bytes) -> dict[str, pd.DataFrame]:
    tables = {}
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        for name in archive.namelist():
            stem, _, suffix = name.rpartition(".")
            data = io.BytesIO(archive.read(name))
            tables[stem] = pd.read_csv(data) if suffix == "csv" else pd.read_parquet(data)
    return tables


def _one_line_422(response, fragment: str) -> None:
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert isinstance(detail, str) and "\n" not in detail, detail
    assert fragment in detail, detail


def test_zip_upload_stores_tables_and_detected_keys(client, alice, settings):
    response = _post(client, alice, _shop())
    assert response.status_code == 201, response.text
    dataset = response.json()
    assert dataset["format"] == "zip" and dataset["filename"] == "shop.zip"
    assert (dataset["rows"], dataset["columns"]) == (CUSTOMERS + ORDERS, 7)
    schema = dataset["schema"]
    assert schema["metadata"]["foreign_keys"] == [LINK]
    assert schema["metadata"]["tables"]["orders"]["primary_key"] == ["order_id"]
    assert schema["tables"]["orders"]["rows"] == ORDERS
    kinds = {c["name"]: c["kind"] for c in schema["tables"]["orders"]["columns"]}
    assert kinds["amount"] == "continuous" and kinds["channel"] == "categorical"
    assert len(list(settings.data_dir.rglob("data.zip"))) == 1
    again = client.get(f"/api/v1/datasets/{dataset['id']}", headers=alice.headers).json()
    assert again == dataset


def test_bundle_job_writes_a_zip_of_joined_tables_and_charges_every_row(
    client, bob, wait_job, settings
):
    dataset = _post(client, bob, _shop()).json()
    body = {"dataset_id": dataset["id"], "scale": 0.5, "seed": 3}
    keyed = {**bob.headers, "Idempotency-Key": "shop-half"}
    created = client.post("/api/v1/jobs", headers=keyed, json=body)
    assert created.status_code == 202, created.text
    replayed = client.post("/api/v1/jobs", headers=keyed, json=body)
    assert replayed.json()["id"] == created.json()["id"]
    assert replayed.headers["Idempotent-Replayed"] == "true"
    assert created.json()["scale"] == 0.5
    assert created.json()["rows"] == (CUSTOMERS + ORDERS) // 2  # the estimate
    job = wait_job(bob, created.json()["id"])
    assert job["state"] == "succeeded", job
    result = client.get(f"/api/v1/jobs/{job['id']}/result", headers=bob.headers)
    assert result.status_code == 200
    assert result.headers["content-type"] == "application/zip"
    assert f'filename="{job["id"]}.zip"' in result.headers["content-disposition"]
    tables = _read_zip(result.content)
    assert set(tables) == {"customers", "orders"}
    customers, orders = tables["customers"], tables["orders"]
    assert len(customers) == CUSTOMERS // 2
    assert customers["customer_id"].is_unique and orders["order_id"].is_unique
    assert set(orders["customer_id"]) <= set(customers["customer_id"])  # every key joins
    written = len(customers) + len(orders)
    assert (job["rows"], job["rows_done"], job["progress"]) == (written, written, 1.0)
    # One charge, for the rows of every table, at Bob's 2.00 per thousand.
    line = client.get("/api/v1/usage", headers=bob.headers).json()["lines"][0]
    assert (line["jobs"], line["rows"]) == (1, written)
    assert float(line["cost"]) == pytest.approx(round(written * 2.0 / 1000, 6))
    # The same seed gives the same tables.
    second = _job(client, bob, {"dataset_id": dataset["id"], "scale": 0.5, "seed": 3}).json()
    assert wait_job(bob, second["id"])["state"] == "succeeded"
    again = _read_zip(
        client.get(f"/api/v1/jobs/{second['id']}/result", headers=bob.headers).content
    )
    for name, frame in tables.items():
        pd.testing.assert_frame_equal(frame, again[name])


def test_metadata_json_in_the_zip_is_used(client, alice, wait_job):
    declared = json.dumps(
        {
            "tables": {
                **KEYS,
                "customers": {"primary_key": ["customer_id"], "kinds": {"age": "categorical"}},
            },
            "foreign_keys": [LINK],
        }
    )
    response = _post(client, alice, _shop(**{"metadata.json": declared}))
    assert response.status_code == 201, response.text
    schema = response.json()["schema"]
    assert schema["metadata"]["tables"]["customers"]["kinds"] == {"age": "categorical"}
    kinds = {c["name"]: c["kind"] for c in schema["tables"]["customers"]["columns"]}
    assert kinds["age"] == "categorical"


def _metadata(*links: dict) -> str:
    return json.dumps({"tables": KEYS, "foreign_keys": list(links)})


BAD_BUNDLES = {
    "not a zip": (b"customer_id,age\n1,30\n", "shop.zip is not a zip archive"),
    "no tables": (_zip({"README.txt": "nothing here"}), "holds no CSV or Parquet files"),
    "unreadable table": (
        _zip({"broken.csv": "a,b\n1,2\n3,4,5\n6,7\n", "ok.csv": "x\n1\n"}),
        "broken",
    ),
    "missing parent table": (
        _zip(
            {
                "orders.csv": _tables()["orders"].to_csv(index=False),
                "metadata.json": _metadata(LINK),
            }
        ),
        "'customers'",
    ),
    "key type mismatch": (
        _shop(**{"metadata.json": _metadata({**LINK, "columns": ["channel"]})}),
        "holds text values",
    ),
    "cyclic references": (
        _shop(
            **{
                "metadata.json": _metadata(
                    LINK,
                    {
                        "child": "customers",
                        "columns": ["age"],
                        "parent": "orders",
                        "parent_columns": ["order_id"],
                    },
                )
            }
        ),
        "cycle",
    ),
    "metadata not JSON": (_shop(**{"metadata.json": "{nope"}), "metadata is not JSON"),
}


@pytest.mark.parametrize("case", list(BAD_BUNDLES))
def test_bad_bundle_is_422_and_keeps_nothing(case, client, alice, settings):
    content, fragment = BAD_BUNDLES[case]
    _one_line_422(_post(client, alice, content), fragment)
    assert client.get("/api/v1/datasets", headers=alice.headers).json()["items"] == []
    assert not [p for p in (settings.data_dir / "customers").rglob("*") if p.is_file()]


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"plan_limits": {"standard": {"tables": 1}}}, "holds 2 tables, over the limit of 1"),
        ({"max_dataset_tables": 1}, "holds 2 tables, over the limit of 1"),
        (
            {"plan_limits": {"standard": {"columns": 3}}},
            "table 'orders' has 4 columns, over the limit of 3 per table",
        ),
        (
            {"plan_limits": {"standard": {"rows": 100}}},
            f"the tables hold {CUSTOMERS + ORDERS} rows in all, over the limit of 100",
        ),
    ],
)
def test_plan_limits_are_422(overrides, fragment, settings_for, alice):
    with TestClient(create_app(settings_for(**overrides), workers=0)) as limited:
        _one_line_422(_post(limited, alice, _shop()), fragment)
        assert limited.get("/api/v1/datasets", headers=alice.headers).json()["items"] == []


def test_other_plans_keep_the_deployment_limits(settings_for, alice):
    settings = settings_for(plan_limits={"free": {"tables": 1}})
    with TestClient(create_app(settings, workers=0)) as app:
        assert _post(app, alice, _shop()).status_code == 201  # Alice is on "standard"


def test_job_requests_that_do_not_fit_a_bundle_are_422(client, alice, upload):
    bundle = _post(client, alice, _shop()).json()["id"]
    table = upload(alice)["id"]
    cases = [
        ({"dataset_id": bundle, "rows": 10}, "rows does not apply to a dataset of linked tables"),
        ({"dataset_id": bundle, "conditions": {"age": 30}}, "conditions does not apply"),
        ({"dataset_id": bundle, "synthesizer": "copula"}, "synthesizer does not apply"),
        ({"dataset_id": bundle, "scale": 10_000}, None),
        ({"dataset_id": table, "rows": 5, "scale": 2}, "not both"),
    ]
    for body, fragment in cases:
        response = _job(client, alice, body)
        if fragment is None:
            assert response.status_code == 422, response.text  # pydantic's bound on scale
        else:
            _one_line_422(response, fragment)
    trained = client.post("/api/v1/models", headers=alice.headers, json={"dataset_id": bundle})
    _one_line_422(trained, "not trained into a model")
    assert client.get("/api/v1/jobs", headers=alice.headers).json()["items"] == []


def test_one_tables_dataset_takes_its_real_rows_times_scale_by_default(client, alice, upload):
    """Rows may be left out from a dataset of one table: as many as it has, or `scale`
    times that (what a schema-valid request without rows asks for)."""
    table = upload(alice)
    plain = _job(client, alice, {"dataset_id": table["id"]})
    doubled = _job(client, alice, {"dataset_id": table["id"], "scale": 2})
    assert (plain.status_code, doubled.status_code) == (202, 202), (plain.text, doubled.text)
    assert plain.json()["rows"] == table["rows"]
    assert doubled.json()["rows"] == 2 * table["rows"]
    assert doubled.json()["scale"] is None  # one table: a row count, not a tables job


def test_scale_over_the_job_row_limit_is_422(settings_for, alice):
    with TestClient(create_app(settings_for(max_job_rows=500), workers=0)) as app:
        dataset = _post(app, alice, _shop()).json()["id"]
        _one_line_422(
            _job(app, alice, {"dataset_id": dataset, "scale": 2}), "over the limit of 500"
        )


def test_client_generates_linked_tables_from_a_folder(settings, alice, tmp_path):
    folder = tmp_path / "shop"
    folder.mkdir()
    for name, frame in _tables().items():
        frame.to_csv(folder / f"{name}.csv", index=False)
    with serving(create_app(settings)) as url, Client(url, alice.secret) as client:
        written = client.generate(folder, scale=0.25, seed=8, poll_interval=0.05)
        assert written == tmp_path / "shop.synthetic.zip"
        job = client.jobs()[0]
        assert job["scale"] == 0.25 and job["state"] == "succeeded"
        dataset = client.dataset(job["dataset_id"])
        assert dataset["filename"] == "shop.zip" and dataset["format"] == "zip"
    tables = read_bundle(written)
    assert len(tables["customers"]) == CUSTOMERS // 4
    assert set(tables["orders"]["customer_id"]) <= set(tables["customers"]["customer_id"])
    assert job["rows"] == len(tables["customers"]) + len(tables["orders"])
