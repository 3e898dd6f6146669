"""Generation jobs through the API: idempotency, formats, cancel, models, usage."""

from __future__ import annotations

import io

import pandas as pd
import pyarrow.parquet as pq


def _post_job(client, caller, body, key=None):
    headers = dict(caller.headers)
    if key:
        headers["Idempotency-Key"] = key
    return client.post("/api/v1/jobs", headers=headers, json=body)


def test_idempotency_key_returns_the_first_job(client, alice, upload, wait_job):
    dataset = upload(alice)
    body = {"dataset_id": dataset["id"], "rows": 30, "seed": 1}
    first = _post_job(client, alice, body, key="order-42")
    again = _post_job(client, alice, body, key="order-42")
    assert first.status_code == again.status_code == 202
    assert again.json()["id"] == first.json()["id"]
    assert again.headers["Idempotent-Replayed"] == "true"
    other = _post_job(client, alice, {**body, "rows": 31}, key="order-42")
    assert other.status_code == 409
    wait_job(alice, first.json()["id"])
    jobs = client.get("/api/v1/jobs", headers=alice.headers).json()["items"]
    assert len(jobs) == 1
    usage = client.get("/api/v1/usage", headers=alice.headers).json()["lines"]
    assert usage[0]["jobs"] == 1 and usage[0]["rows"] == 30


def test_same_idempotency_key_for_two_customers_is_two_jobs(client, alice, bob, upload):
    a = _post_job(client, alice, {"dataset_id": upload(alice)["id"], "rows": 5}, key="k")
    b = _post_job(client, bob, {"dataset_id": upload(bob)["id"], "rows": 5}, key="k")
    assert a.json()["id"] != b.json()["id"]


def test_parquet_result_and_seed_determinism(client, alice, upload, wait_job):
    dataset = upload(alice)
    model = client.post(
        "/api/v1/models", headers=alice.headers, json={"dataset_id": dataset["id"], "name": "m"}
    ).json()
    assert model["state"] == "training"
    assert wait_job(alice, model["job_id"])["state"] == "succeeded"
    ready = client.get(f"/api/v1/models/{model['id']}", headers=alice.headers).json()
    assert ready["state"] == "ready" and ready["fitted_rows"] == 300
    outputs = []
    for _ in range(2):
        job = _post_job(
            client, alice, {"model_id": model["id"], "rows": 40, "seed": 5, "format": "parquet"}
        ).json()
        assert wait_job(alice, job["id"])["state"] == "succeeded"
        result = client.get(f"/api/v1/jobs/{job['id']}/result", headers=alice.headers)
        assert result.headers["content-type"] == "application/vnd.apache.parquet"
        outputs.append(pq.read_table(io.BytesIO(result.content)).to_pandas())
    assert len(outputs[0]) == 40
    pd.testing.assert_frame_equal(outputs[0], outputs[1])


def test_job_document_has_progress_and_timings(client, alice, upload, wait_job):
    job = _post_job(client, alice, {"dataset_id": upload(alice)["id"], "rows": 10}).json()
    assert job["state"] == "queued" and job["progress"] == 0
    done = wait_job(alice, job["id"])
    assert done["progress"] == 1 and done["rows_done"] == 10
    assert done["created_at"] <= done["started_at"] <= done["finished_at"]
    assert done["chunks_total"] == done["chunks_done"] == 1
    assert done["result_bytes"] > 0
    assert done["attempts"] == 1  # it ran once


def test_result_before_success_is_409_and_cancel(client, alice, settings, upload):
    # No worker: the job stays queued, so it can be cancelled deterministically.
    from fastapi.testclient import TestClient

    from synthdata.service.app import create_app

    dataset = upload(alice)
    with TestClient(create_app(settings, workers=0)) as idle:
        job = _post_job(idle, alice, {"dataset_id": dataset["id"], "rows": 10}).json()
        assert (
            idle.get(f"/api/v1/jobs/{job['id']}/result", headers=alice.headers).status_code == 409
        )
        cancelled = idle.post(f"/api/v1/jobs/{job['id']}/cancel", headers=alice.headers)
        assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled"
        again = idle.post(f"/api/v1/jobs/{job['id']}/cancel", headers=alice.headers)
        assert again.status_code == 409
        assert idle.get("/api/v1/usage", headers=alice.headers).json()["lines"] == []


def test_bad_requests_are_4xx(client, alice, upload, settings):
    dataset = upload(alice)
    unknown = _post_job(client, alice, {"dataset_id": dataset["id"], "rows": 5, "synthesizer": "x"})
    assert unknown.status_code == 422 and "unknown synthesizer" in unknown.json()["detail"]
    too_many = _post_job(
        client, alice, {"dataset_id": dataset["id"], "rows": settings.max_job_rows + 1}
    )
    assert too_many.status_code == 422
    fmt = _post_job(client, alice, {"dataset_id": dataset["id"], "rows": 5, "format": "xlsx"})
    assert fmt.status_code == 422
    missing = _post_job(client, alice, {"model_id": "mdl_nope", "rows": 5})
    assert missing.status_code == 404


def test_list_filters_and_paginates(client, alice, upload, wait_job):
    dataset = upload(alice)
    ids = [
        _post_job(client, alice, {"dataset_id": dataset["id"], "rows": 3}).json()["id"]
        for _ in range(3)
    ]
    for job_id in ids:
        wait_job(alice, job_id)
    page = client.get("/api/v1/jobs?limit=2", headers=alice.headers).json()
    assert [j["id"] for j in page["items"]] == ids[::-1][:2]
    rest = client.get(f"/api/v1/jobs?limit=2&cursor={page['next_cursor']}", headers=alice.headers)
    assert [j["id"] for j in rest.json()["items"]] == [ids[0]]
    succeeded = client.get("/api/v1/jobs?state=succeeded", headers=alice.headers).json()["items"]
    assert len(succeeded) == 3
    assert client.get("/api/v1/jobs?state=failed", headers=alice.headers).json()["items"] == []


def test_usage_costs_rows_at_the_customer_price(client, bob, upload, wait_job):
    dataset = upload(bob)
    job = _post_job(client, bob, {"dataset_id": dataset["id"], "rows": 1500}).json()
    assert wait_job(bob, job["id"])["state"] == "succeeded"
    line = client.get("/api/v1/usage", headers=bob.headers).json()["lines"][0]
    assert (line["rows"], line["jobs"], line["currency"]) == (1500, 1, "USD")
    assert float(line["cost"]) == 3.0  # 1.5 thousand rows at 2.00
    future = client.get("/api/v1/usage?since=2999-01-01T00:00:00Z", headers=bob.headers).json()
    assert future["lines"] == []
    naive = client.get("/api/v1/usage?since=2020-01-01T00:00:00", headers=bob.headers)
    assert naive.status_code == 422


def test_unsaveable_synthesizer_is_refused_before_any_fit(client, alice, upload):
    dataset = upload(alice)
    generate = _post_job(
        client, alice, {"dataset_id": dataset["id"], "rows": 5, "synthesizer": "sdv_copula"}
    )
    train = client.post(
        "/api/v1/models",
        headers=alice.headers,
        json={"dataset_id": dataset["id"], "synthesizer": "sdv_copula"},
    )
    for refused in (generate, train):
        assert refused.status_code == 422, refused.text
        assert "sdv_copula synthesizer cannot be used by the service" in refused.json()["detail"]
    assert client.get("/api/v1/jobs", headers=alice.headers).json()["items"] == []
    assert client.get("/api/v1/models", headers=alice.headers).json()["items"] == []


def test_training_failure_marks_job_and_model_failed(client, alice, upload, wait_job, settings):
    from fastapi.testclient import TestClient

    from synthdata.service.app import create_app

    dataset = upload(alice)
    # The stored table disappears before the model is asked for (the request checks
    # the dataset's row, not its file), so no worker can read it first.
    for stored in settings.data_dir.rglob("data.csv"):
        stored.unlink()
    with TestClient(create_app(settings, workers=0)) as idle:
        model = idle.post(
            "/api/v1/models", headers=alice.headers, json={"dataset_id": dataset["id"]}
        )
    assert model.status_code == 202
    job = wait_job(alice, model.json()["job_id"])
    assert job["state"] == "failed" and "not found" in job["error"]
    state = client.get(f"/api/v1/models/{model.json()['id']}", headers=alice.headers).json()
    assert state["state"] == "failed" and state["error"] == job["error"]
    generate = client.post(
        "/api/v1/jobs", headers=alice.headers, json={"model_id": state["id"], "rows": 5}
    )
    # The model's state is at fault, not the request: 409.
    assert generate.status_code == 409
    assert generate.json()["type"] == "urn:synthdata:problem:model-failed"


def test_delete_model(client, alice, upload, wait_job, settings):
    model = client.post(
        "/api/v1/models", headers=alice.headers, json={"dataset_id": upload(alice)["id"]}
    ).json()
    wait_job(alice, model["job_id"])
    assert list(settings.data_dir.rglob("model.synth"))
    assert client.delete(f"/api/v1/models/{model['id']}", headers=alice.headers).status_code == 204
    assert client.get(f"/api/v1/models/{model['id']}", headers=alice.headers).status_code == 404
    assert not list(settings.data_dir.rglob("model.synth"))


def test_csv_result_matches_requested_rows(client, alice, upload, wait_job):
    job = _post_job(
        client, alice, {"dataset_id": upload(alice)["id"], "rows": 123, "seed": 3}
    ).json()
    wait_job(alice, job["id"])
    frame = pd.read_csv(
        io.BytesIO(client.get(f"/api/v1/jobs/{job['id']}/result", headers=alice.headers).content)
    )
    assert len(frame) == 123


def test_conditions_hold_on_every_row_of_the_result(client, alice, upload, wait_job):
    dataset = upload(alice)
    conditions = {"city": ["Paris", "Nice"], "age": {"min": 30, "max": 40}, "member": True}
    job = _post_job(
        client,
        alice,
        {"dataset_id": dataset["id"], "rows": 200, "seed": 3, "conditions": conditions},
    ).json()
    assert job["conditions"]["city"] == ["Paris", "Nice"]
    assert wait_job(alice, job["id"])["state"] == "succeeded"
    result = client.get(f"/api/v1/jobs/{job['id']}/result", headers=alice.headers)
    rows = pd.read_csv(io.StringIO(result.text))
    assert len(rows) == 200
    assert set(rows["city"]) <= {"Paris", "Nice"}
    assert rows["age"].between(30, 40).all()
    assert rows["member"].all()


def test_conditions_that_cannot_hold_are_422_or_a_failed_job(client, alice, upload, wait_job):
    dataset = upload(alice)
    base = {"dataset_id": dataset["id"], "rows": 10}
    unknown = _post_job(client, alice, {**base, "conditions": {"height": 3}})
    assert unknown.status_code == 422
    assert "unknown column 'height'" in unknown.json()["detail"]
    copula = _post_job(client, alice, {**base, "synthesizer": "copula", "conditions": {"age": 30}})
    assert copula.status_code == 422
    assert "cannot sample with conditions" in copula.json()["detail"]
    bad_range = _post_job(client, alice, {**base, "conditions": {"age": {"low": 3}}})
    assert bad_range.status_code == 422
    # A value the table never holds is found by the model when the job samples.
    never = _post_job(client, alice, {**base, "conditions": {"city": "Rome"}}).json()
    failed = wait_job(alice, never["id"])
    assert failed["state"] == "failed"
    assert "'Rome' never occurs in column 'city'" in failed["error"]


def test_constraints_hold_on_every_row_and_are_kept_by_trained_models(
    client, alice, upload, wait_job
):
    dataset = upload(alice)
    constraints = [
        {"type": "bounds", "column": "income", "min": 1000, "max": 1500},
        "city != 'Lyon' or age < 40",
    ]
    job = _post_job(
        client,
        alice,
        {"dataset_id": dataset["id"], "rows": 300, "seed": 3, "constraints": constraints},
    ).json()
    assert job["constraints"] == constraints
    assert wait_job(alice, job["id"])["state"] == "succeeded"
    result = client.get(f"/api/v1/jobs/{job['id']}/result", headers=alice.headers)
    rows = pd.read_csv(io.StringIO(result.text))
    assert len(rows) == 300
    assert rows["income"].between(1000, 1500).all()
    assert ((rows["city"] != "Lyon") | (rows["age"] < 40)).all()
    # A model trained with constraints keeps them for every job that samples it.
    trained = client.post(
        "/api/v1/models",
        headers=alice.headers,
        json={"dataset_id": dataset["id"], "constraints": ["age <= 30"]},
    )
    assert trained.status_code in (200, 201, 202), trained.text
    assert wait_job(alice, trained.json()["job_id"])["state"] == "succeeded"
    job = _post_job(client, alice, {"model_id": trained.json()["id"], "rows": 200}).json()
    assert wait_job(alice, job["id"])["state"] == "succeeded"
    result = client.get(f"/api/v1/jobs/{job['id']}/result", headers=alice.headers)
    assert pd.read_csv(io.StringIO(result.text))["age"].le(30).all()


def test_constraints_that_cannot_apply_are_422(client, alice, upload):
    dataset = upload(alice)
    base = {"dataset_id": dataset["id"], "rows": 10}
    unknown = _post_job(client, alice, {**base, "constraints": ["height > 3"]})
    assert unknown.status_code == 422
    assert "unknown column 'height'" in unknown.json()["detail"]
    unsafe = _post_job(client, alice, {**base, "constraints": ["__import__('os')"]})
    assert unsafe.status_code == 422
    assert "is not allowed" in unsafe.json()["detail"]
    kind = _post_job(
        client, alice, {**base, "constraints": [{"type": "positive", "column": "city"}]}
    )
    assert kind.status_code == 422
    assert "'city' is categorical" in kind.json()["detail"]
    # Types are checked before any fit: text against a number, a bound that is no number.
    for bad, message in [
        ("city > 3", "not supported between"),
        ({"type": "bounds", "column": "age", "min": "abc"}, "'abc' is not a number"),
    ]:
        typed = _post_job(client, alice, {**base, "constraints": [bad]})
        assert typed.status_code == 422
        assert message in typed.json()["detail"]
    model_job = _post_job(
        client, alice, {"model_id": "mdl_x", "rows": 1, "constraints": ["age > 1"]}
    )
    assert model_job.status_code == 422
    for bad in (["age > 1"], [{"type": "sum", "columns": ["age"], "total": "nope"}]):
        model = client.post(
            "/api/v1/models",
            headers=alice.headers,
            json={"dataset_id": dataset["id"], "constraints": bad},
        )
        assert (model.status_code == 422) == (bad != ["age > 1"]), model.text
