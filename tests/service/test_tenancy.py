"""Tenant isolation: a customer never sees or touches another's objects; an admin can."""

from __future__ import annotations

import pytest


@pytest.fixture
def alices_objects(client, alice, upload, wait_job):
    """Alice's dataset, trained model and finished job."""
    dataset = upload(alice)
    model = client.post(
        "/api/v1/models", headers=alice.headers, json={"dataset_id": dataset["id"]}
    ).json()
    wait_job(alice, model["job_id"])
    job = client.post(
        "/api/v1/jobs", headers=alice.headers, json={"model_id": model["id"], "rows": 20}
    ).json()
    assert wait_job(alice, job["id"])["state"] == "succeeded"
    return {"dataset": dataset["id"], "model": model["id"], "job": job["id"]}


def test_other_customer_gets_404_everywhere(client, bob, alices_objects):
    ids = alices_objects
    for method, path in (
        ("GET", f"/api/v1/datasets/{ids['dataset']}"),
        ("DELETE", f"/api/v1/datasets/{ids['dataset']}"),
        ("GET", f"/api/v1/models/{ids['model']}"),
        ("DELETE", f"/api/v1/models/{ids['model']}"),
        ("GET", f"/api/v1/jobs/{ids['job']}"),
        ("POST", f"/api/v1/jobs/{ids['job']}/cancel"),
        ("GET", f"/api/v1/jobs/{ids['job']}/result"),
    ):
        response = client.request(method, path, headers=bob.headers)
        assert response.status_code == 404, (method, path, response.text)
    # Nor can Bob use Alice's objects as inputs.
    for body in ({"dataset_id": ids["dataset"], "rows": 5}, {"model_id": ids["model"], "rows": 5}):
        assert client.post("/api/v1/jobs", headers=bob.headers, json=body).status_code == 404
    train = client.post("/api/v1/models", headers=bob.headers, json={"dataset_id": ids["dataset"]})
    assert train.status_code == 404


def test_other_customer_lists_and_usage_are_empty(client, bob, alices_objects):
    for resource in ("datasets", "models", "jobs"):
        page = client.get(f"/api/v1/{resource}", headers=bob.headers).json()
        assert page["items"] == [], resource
    assert client.get("/api/v1/usage", headers=bob.headers).json()["lines"] == []


def test_customer_cannot_act_for_another(client, alice, bob, alices_objects):
    for path in ("/api/v1/datasets", "/api/v1/jobs", "/api/v1/models", "/api/v1/usage"):
        response = client.get(f"{path}?customer_id={alice.customer_id}", headers=bob.headers)
        assert response.status_code == 403, path
    forged = client.post(
        f"/api/v1/jobs?customer_id={alice.customer_id}",
        headers=bob.headers,
        json={"model_id": alices_objects["model"], "rows": 5},
    )
    assert forged.status_code == 403


def test_owner_and_admin_see_everything(client, admin, alice, alices_objects):
    ids = alices_objects
    for caller in (alice, admin):
        for resource, key in (("datasets", "dataset"), ("models", "model"), ("jobs", "job")):
            assert (
                client.get(f"/api/v1/{resource}/{ids[key]}", headers=caller.headers).status_code
                == 200
            )
            listed = client.get(f"/api/v1/{resource}", headers=caller.headers).json()["items"]
            assert ids[key] in [item["id"] for item in listed]
        result = client.get(f"/api/v1/jobs/{ids['job']}/result", headers=caller.headers)
        assert result.status_code == 200
    filtered = client.get(
        f"/api/v1/jobs?customer_id={alice.customer_id}", headers=admin.headers
    ).json()["items"]
    assert {j["customer_id"] for j in filtered} == {alice.customer_id}
    usage = client.get("/api/v1/usage", headers=admin.headers).json()["lines"]
    assert [(line["customer_id"], line["rows"]) for line in usage] == [(alice.customer_id, 20)]


def test_admin_acts_for_a_customer(client, admin, alice, upload, alices_objects):
    no_customer = client.post(
        "/api/v1/jobs", headers=admin.headers, json={"model_id": alices_objects["model"], "rows": 5}
    )
    # Well formed, but a platform admin key owns nothing: 403.
    assert no_customer.status_code == 403
    assert no_customer.json()["type"] == "urn:synthdata:problem:customer-required"
    job = client.post(
        f"/api/v1/jobs?customer_id={alice.customer_id}",
        headers=admin.headers,
        json={"model_id": alices_objects["model"], "rows": 5},
    )
    assert job.status_code == 202 and job.json()["customer_id"] == alice.customer_id
    assert client.get(f"/api/v1/jobs/{job.json()['id']}", headers=alice.headers).status_code == 200


def test_admin_can_delete_a_customers_dataset(client, admin, alice, alices_objects):
    path = f"/api/v1/datasets/{alices_objects['dataset']}"
    assert client.delete(path, headers=admin.headers).status_code == 204
    assert client.get(path, headers=alice.headers).status_code == 404
