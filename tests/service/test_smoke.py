"""A first end-to-end pass: upload, generate, download, usage."""

from __future__ import annotations

import io

import pandas as pd


def test_upload_generate_download(client, alice, upload, wait_job):
    dataset = upload(alice)
    assert dataset["rows"] == 300
    assert [c["name"] for c in dataset["schema"]["columns"]] == ["age", "income", "city", "member"]
    response = client.post(
        "/api/v1/jobs",
        headers=alice.headers,
        json={"dataset_id": dataset["id"], "rows": 250, "seed": 7},
    )
    assert response.status_code == 202, response.text
    job = wait_job(alice, response.json()["id"])
    assert job["state"] == "succeeded", job
    result = client.get(f"/api/v1/jobs/{job['id']}/result", headers=alice.headers)
    assert result.status_code == 200
    frame = pd.read_csv(io.BytesIO(result.content))
    assert list(frame.columns) == ["age", "income", "city", "member"]
    assert len(frame) == 250
    usage = client.get("/api/v1/usage", headers=alice.headers).json()
    assert usage["lines"][0]["rows"] == 250
