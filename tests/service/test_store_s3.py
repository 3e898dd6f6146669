"""The service over the S3 backend (a real SeaweedFS, tests/fixtures/objectstore.py).

An upload streams into the bucket (the object holds exactly the bytes sent, nothing
lands in the data directory, no copy stays in the work directory) and is inspected
from there; a failed upload (too large, or unreadable) leaves no object; a model is
trained from the stored dataset and saved to the bucket; deleting the dataset deletes
its objects; and the orphan sweep lists the bucket, deletes an old unreferenced
object, keeps referenced and young ones, and sets `synthdata_store_orphan_objects`;
the model cache's "filesystem" backend keeps its entries in the bucket.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY
from tests.fixtures.objectstore import (  # noqa: F401  (s3_server: the fixture)
    ACCESS_KEY,
    REGION,
    SECRET_KEY,
    S3Server,
    s3_server,
)
from tests.fixtures.service import CSV, Caller

from synthdata.artifacts import S3Store
from synthdata.jobs.cache_stores import BucketStore, CacheStats
from synthdata.jobs.model_cache import store_for
from synthdata.jobs.orphans import sweep_orphans
from synthdata.service.app import create_app
from synthdata.service.core.db import make_engine, make_session_factory
from synthdata.service.core.settings import Settings
from synthdata.service.core.storage import Storage


@pytest.fixture
def prefix() -> str:
    return f"svc-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def s3_settings(
    s3_server: S3Server,  # noqa: F811  (the fixture imported above)
    settings_for: Callable[..., Settings],
    prefix: str,
) -> Settings:
    """The service's settings with the artifacts in the test server under `prefix`."""
    return settings_for(
        store="s3",
        s3_endpoint=s3_server.endpoint,
        s3_bucket=s3_server.bucket,
        s3_prefix=prefix,
        s3_region=REGION,
        s3_access_key_id=ACCESS_KEY,
        s3_secret_access_key=SECRET_KEY,
    )


@pytest.fixture
def bucket(s3_server: S3Server, prefix: str) -> S3Store:  # noqa: F811
    """The same objects the service sees, read straight from the server."""
    return S3Store(s3_server.config(prefix=prefix))


def _keys(bucket: S3Store) -> list[str]:
    return sorted(o.key for o in bucket.list(""))


def _read(bucket: S3Store, key: str) -> bytes:
    with bucket.open_read(key) as source:
        return source.read()


def _local_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def _poll(client: TestClient, caller: Caller, job_id: str) -> Any:
    deadline = time.monotonic() + 180  # only stops a hung test (a loaded machine is slow)
    while True:
        response = client.get(f"/api/v1/jobs/{job_id}", headers=caller.headers)
        assert response.status_code in (200, 503), response.text  # 503: retry, as clients do
        body = response.json()
        if response.status_code == 200 and body["state"] in ("succeeded", "failed", "cancelled"):
            return body
        assert time.monotonic() < deadline, body
        time.sleep(0.05)


def test_upload_lands_in_the_bucket_and_jobs_use_it(
    s3_settings: Settings, bucket: S3Store, alice: Caller
) -> None:
    with TestClient(create_app(s3_settings)) as client:
        response = client.post(
            "/api/v1/datasets", headers=alice.headers, files={"file": ("people.csv", CSV)}
        )
        assert response.status_code == 201, response.text
        dataset = response.json()
        # Inspected from the stored object (in the offload helper, by its key).
        assert (dataset["rows"], dataset["columns"]) == (300, 4)
        key = f"customers/{alice.customer_id}/datasets/{dataset['id']}/data.csv"
        assert _keys(bucket) == [key]
        assert _read(bucket, key) == CSV

        model = client.post(
            "/api/v1/models", headers=alice.headers, json={"dataset_id": dataset["id"]}
        ).json()
        assert _poll(client, alice, model["job_id"])["state"] == "succeeded"
        model_key = f"customers/{alice.customer_id}/models/{model['id']}/model.synth"
        assert model_key in _keys(bucket)
        assert _read(bucket, model_key)[:2] == b"PK"  # the engine's zip, as stored
        # The fit read the dataset from the bucket through Arrow: no local copy of it.
        assert not s3_settings.work_dir.joinpath("objects", *key.split("/")).exists()

        # A generation job loads the model from the bucket (one local copy per process).
        job = client.post(
            "/api/v1/jobs", headers=alice.headers, json={"model_id": model["id"], "rows": 50}
        ).json()
        assert _poll(client, alice, job["id"])["state"] == "succeeded"
        job_dir = f"customers/{alice.customer_id}/jobs/{job['id']}"
        assert f"{job_dir}/manifest.json" in _keys(bucket)

        deleted = client.delete(f"/api/v1/datasets/{dataset['id']}", headers=alice.headers)
        assert deleted.status_code == 204
        assert key not in _keys(bucket) and model_key in _keys(bucket)
    # Nothing went to the data directory; the work directory kept no scratch file, and
    # of its copies only the model's (the dataset's went with the dataset).
    assert _local_files(s3_settings.data_dir / "customers") == []
    left = _local_files(s3_settings.work_dir)
    assert left == [s3_settings.work_dir.joinpath("objects", *model_key.split("/"))], left


def test_an_upload_larger_than_a_part_streams_into_one_object(
    s3_settings: Settings, bucket: S3Store, alice: Caller
) -> None:
    rows = CSV.split(b"\n", 1)[1]
    body = CSV + rows * (12 * 1024 * 1024 // len(rows))  # ~12 MiB: two multipart parts
    with TestClient(create_app(s3_settings, workers=0)) as client:
        response = client.post(
            "/api/v1/datasets", headers=alice.headers, files={"file": ("big.csv", body)}
        )
        assert response.status_code == 201, response.text
    dataset = response.json()
    assert dataset["size_bytes"] == len(body) and dataset["rows"] == body.count(b"\n") - 1
    (key,) = _keys(bucket)
    assert _read(bucket, key) == body


@pytest.mark.parametrize(
    ("filename", "body", "status"),
    [
        ("people.csv", CSV * 20, 413),  # over the limit while streaming: aborted
        ("people.parquet", b"PAR1 but not parquet at all" * 100, 422),  # stored, unreadable
        ("people.csv", b"", 422),  # empty
    ],
)
def test_failed_upload_leaves_no_object(
    s3_settings: Settings,
    bucket: S3Store,
    alice: Caller,
    filename: str,
    body: bytes,
    status: int,
) -> None:
    limited = s3_settings.model_copy(update={"max_upload_bytes": len(CSV) * 2})
    with TestClient(create_app(limited)) as client:
        response = client.post(
            "/api/v1/datasets", headers=alice.headers, files={"file": (filename, body)}
        )
        assert response.status_code == status, response.text
        assert client.get("/api/v1/datasets", headers=alice.headers).json()["items"] == []
    assert _keys(bucket) == []


def test_orphan_sweep_deletes_old_unreferenced_objects_in_the_bucket(
    s3_settings: Settings, bucket: S3Store, alice: Caller
) -> None:
    with TestClient(create_app(s3_settings, workers=0)) as client:
        response = client.post(
            "/api/v1/datasets", headers=alice.headers, files={"file": ("people.csv", CSV)}
        )
        assert response.status_code == 201, response.text
    referenced = f"customers/{alice.customer_id}/datasets/{response.json()['id']}/data.csv"
    orphan = f"customers/{alice.customer_id}/datasets/ds_0000000000000000000000000009/data.csv"
    beside = "cache/models/some-entry.synth"  # outside customers/: never swept
    for key in (orphan, beside):
        with bucket.open_write(key) as sink:
            sink.write(b"x" * 1000)
    engine = make_engine(s3_settings.database_url)
    try:
        sessions = make_session_factory(engine)
        storage = Storage.open(s3_settings)
        # Within the grace period: listed, counted as an orphan, kept.
        young = sweep_orphans(sessions, storage, 3600)
        assert (young.scanned, young.young, young.removed) == (2, 1, [])
        assert REGISTRY.get_sample_value("synthdata_store_orphan_objects") == 1
        # Two hours later (an object's time cannot be set back on S3: the clock moves).
        old = sweep_orphans(sessions, storage, 3600, now=time.time() + 7200)
    finally:
        engine.dispose()
    assert (old.removed, old.removed_bytes, old.young) == ([orphan], 1000, 0)
    assert REGISTRY.get_sample_value("synthdata_store_orphan_objects") == 0
    assert _keys(bucket) == sorted([referenced, beside])


def test_model_cache_keeps_its_entries_in_the_bucket(
    s3_settings: Settings, bucket: S3Store
) -> None:
    store = store_for("filesystem", s3_settings)  # no shared directory: the bucket
    assert isinstance(store, BucketStore)
    store.put("entry1", b"model-1", 3600)
    store.put("entry1", b"model-2", 3600)  # a re-put replaces the entry
    assert store.get("entry1") == b"model-2"
    expires = store.expires_at("entry1")
    assert expires is not None and 3500 < expires - time.time() <= 3600
    store.put("entry2", b"stale", -1)  # already expired: absent, and removed when met
    assert store.get("entry2") is None
    assert store.stats() == CacheStats(entries=1, bytes=len(b"model-2"))
    (kept,) = _keys(bucket)
    assert kept.startswith("cache/models/entry1/")
    store.delete("entry1")
    assert _keys(bucket) == []
