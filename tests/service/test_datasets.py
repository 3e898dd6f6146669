"""Dataset uploads: streamed into the artifact store (the local directory here; the S3
backend in test_store_s3.py), size limit (413), schema inference, deletion."""

from __future__ import annotations

import io

import pandas as pd
from fastapi.testclient import TestClient

from synthdata.service.app import create_app


def test_upload_returns_schema_and_stores_file(client, alice, upload, settings):
    dataset = upload(alice)
    assert (dataset["rows"], dataset["columns"], dataset["format"]) == (300, 4, "csv")
    kinds = {c["name"]: c["kind"] for c in dataset["schema"]["columns"]}
    assert kinds["city"] == "categorical" and kinds["income"] == "continuous"
    stored = list(settings.data_dir.rglob("data.csv"))
    assert len(stored) == 1 and stored[0].stat().st_size == dataset["size_bytes"]
    # Where uploads always went (the local store's key is that path), no temporary left.
    where = f"customers/{alice.customer_id}/datasets/{dataset['id']}/data.csv"
    assert stored[0].relative_to(settings.data_dir).as_posix() == where
    assert not list(settings.data_dir.rglob(".synthdata-tmp-*"))
    assert client.get(f"/api/v1/datasets/{dataset['id']}", headers=alice.headers).json() == dataset


def test_parquet_upload_and_name_field(client, alice):
    buffer = io.BytesIO()
    pd.DataFrame({"a": [1, 2, 3], "b": ["x", "y", "x"]}).to_parquet(buffer)
    response = client.post(
        "/api/v1/datasets",
        headers=alice.headers,
        files={"file": ("t.parquet", buffer.getvalue(), "application/octet-stream")},
        data={"name": "my table"},
    )
    assert response.status_code == 201, response.text
    assert response.json()["format"] == "parquet" and response.json()["name"] == "my table"


def test_upload_over_the_limit_is_413_and_leaves_nothing(settings_for, alice):
    settings = settings_for(max_upload_bytes=1000)
    with TestClient(create_app(settings, workers=0)) as small:
        big = b"a,b\n" + b"1,2\n" * 2000
        response = small.post(
            "/api/v1/datasets", headers=alice.headers, files={"file": ("big.csv", big)}
        )
        assert response.status_code == 413
        assert response.json()["type"] == "urn:synthdata:problem:payload-too-large"

        # Without Content-Length the limit is enforced while streaming.
        def chunks():
            yield b'--XyZ\r\nContent-Disposition: form-data; name="file"; filename="s.csv"\r\n\r\n'
            for _ in range(100):
                yield b"1,2\n" * 50
            yield b"\r\n--XyZ--\r\n"

        streamed = small.post(
            "/api/v1/datasets",
            headers={**alice.headers, "Content-Type": "multipart/form-data; boundary=XyZ"},
            content=chunks(),
        )
        assert streamed.status_code == 413
        assert small.get("/api/v1/datasets", headers=alice.headers).json()["items"] == []
    assert not [p for p in settings.data_dir.rglob("*") if p.is_file() and "datasets" in p.parts]


def test_bad_uploads_are_4xx(client, alice):
    no_file = client.post(
        "/api/v1/datasets", headers=alice.headers, data={"name": "x"}, files={"other": ("a", b"1")}
    )
    assert no_file.status_code == 422
    not_multipart = client.post("/api/v1/datasets", headers=alice.headers, json={"a": 1})
    assert not_multipart.status_code == 415
    binary = client.post(
        "/api/v1/datasets", headers=alice.headers, files={"file": ("x.csv", b"\x00\x01\x02")}
    )
    assert binary.status_code == 422 and "binary" in binary.json()["detail"]
    header_only = client.post(
        "/api/v1/datasets", headers=alice.headers, files={"file": ("x.csv", b"a,b\n")}
    )
    assert header_only.status_code == 422
    wrong_ext = client.post(
        "/api/v1/datasets", headers=alice.headers, files={"file": ("x.xlsx", b"a,b\n1,2\n")}
    )
    assert wrong_ext.status_code == 422
    assert client.get("/api/v1/datasets", headers=alice.headers).json()["items"] == []


def test_unreadable_upload_is_named_as_uploaded(client, alice):
    latin1 = "name,city\n" + "".join(f"Zoë {i},Malmö\n" for i in range(50))
    response = client.post(
        "/api/v1/datasets",
        headers=alice.headers,
        files={"file": ("kunden-2024.csv", latin1.encode("latin-1"), "text/csv")},
    )
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert detail.startswith("cannot read kunden-2024.csv: not UTF-8 text"), detail
    assert "data.csv" not in detail


def test_delete_removes_row_and_file(client, alice, upload, settings):
    dataset = upload(alice)
    assert (
        client.delete(f"/api/v1/datasets/{dataset['id']}", headers=alice.headers).status_code == 204
    )
    assert client.get(f"/api/v1/datasets/{dataset['id']}", headers=alice.headers).status_code == 404
    assert not list(settings.data_dir.rglob("data.csv"))


def test_job_on_deleted_dataset_fails_cleanly(client, alice, upload, settings, wait_job):
    dataset = upload(alice)
    with TestClient(create_app(settings, workers=0)) as idle:
        job = idle.post(
            "/api/v1/jobs", headers=alice.headers, json={"dataset_id": dataset["id"], "rows": 5}
        ).json()
        idle.delete(f"/api/v1/datasets/{dataset['id']}", headers=alice.headers)
    # The running app's worker picks the queued message up.
    done = wait_job(alice, job["id"])
    assert done["state"] == "failed" and "deleted" in done["error"]
