"""Downloading a result stored as parts: one streamed file, the parts listed with their
checksums and URLs, and 410 when what the manifest lists is gone."""

from __future__ import annotations

import io
import json

import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
from tests.fixtures.results import sha256

from synthdata._client_parts import PartChecksumError
from synthdata.client import Client
from synthdata.jobs.models import Job
from synthdata.service.core.db import session_scope

ROWS = 120


@pytest.fixture
def settings(settings_for):
    return settings_for(job_chunk_rows=50)  # 3 parts of 50, 50 and 20 rows


def _finished_job(client, caller, upload, wait_job, fmt="csv", seed=8):
    dataset = upload(caller)
    body = {"dataset_id": dataset["id"], "rows": ROWS, "seed": seed, "format": fmt}
    job = client.post("/api/v1/jobs", headers=caller.headers, json=body).json()
    done = wait_job(caller, job["id"])
    assert done["state"] == "succeeded" and done["chunks_total"] == 3
    return done


def _read(data: bytes, fmt: str) -> pd.DataFrame:
    if fmt == "csv":
        return pd.read_csv(io.BytesIO(data))
    return pq.read_table(io.BytesIO(data)).to_pandas()


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_parts_listed_downloaded_and_streamed_as_one_file(client, alice, upload, wait_job, fmt):
    job = _finished_job(client, alice, upload, wait_job, fmt)
    listed = client.get(f"/api/v1/jobs/{job['id']}/result?parts=true", headers=alice.headers)
    assert listed.status_code == 200, listed.text
    body = listed.json()
    assert (body["format"], body["rows"]) == (fmt, ROWS)
    assert [(p["index"], p["rows"]) for p in body["parts"]] == [(0, 50), (1, 50), (2, 20)]
    frames = []
    for part in body["parts"]:
        assert part["url"] == f"/api/v1/jobs/{job['id']}/result/parts/{part['index']}"
        got = client.get(part["url"], headers=alice.headers)
        assert got.status_code == 200
        assert (len(got.content), sha256(got.content)) == (part["bytes"], part["sha256"])
        frames.append(_read(got.content, fmt))
    assert job["result_bytes"] == sum(p["bytes"] for p in body["parts"])
    joined = pd.concat(frames, ignore_index=True)

    whole = client.get(f"/api/v1/jobs/{job['id']}/result", headers=alice.headers)
    assert whole.status_code == 200
    assert whole.headers["content-type"].startswith("text/csv" if fmt == "csv" else "application/")
    assert f'filename="{job["id"]}.{fmt}"' in whole.headers["content-disposition"]
    pd.testing.assert_frame_equal(_read(whole.content, fmt), joined)
    if fmt == "csv":  # one header: the parts' bytes with the later headers dropped
        assert whole.text.count(whole.text.split("\n", 1)[0] + "\n") == 1
    else:
        assert pq.ParquetFile(io.BytesIO(whole.content)).metadata.num_rows == ROWS


def test_the_same_seed_gives_the_same_parts(client, alice, upload, wait_job):
    one = _finished_job(client, alice, upload, wait_job, seed=3)
    two = _finished_job(client, alice, upload, wait_job, seed=3)
    sums = []
    for job in (one, two):
        url = f"/api/v1/jobs/{job['id']}/result?parts=true"
        sums.append([p["sha256"] for p in client.get(url, headers=alice.headers).json()["parts"]])
    assert sums[0] == sums[1] and len(set(sums[0])) == 3


def test_a_missing_part_or_manifest_is_410(client, alice, upload, wait_job):
    job = _finished_job(client, alice, upload, wait_job)
    storage = client.app.state.platform.storage
    with session_scope(client.app.state.platform.sessions) as session:
        row = session.get_one(Job, job["id"])
        customer, manifest_key = row.customer_id, row.result_path
    storage.store.delete(storage.part_file(customer, job["id"], 1, "csv"))
    url = f"/api/v1/jobs/{job['id']}/result"
    for path in (url, f"{url}?parts=true", f"{url}/parts/0"):
        response = client.get(path, headers=alice.headers)
        assert response.status_code == 410, path
        assert response.json()["type"].endswith("gone")
    storage.store.delete(manifest_key)
    assert client.get(url, headers=alice.headers).status_code == 410


def test_other_customers_and_unknown_parts(client, alice, bob, upload, wait_job):
    job = _finished_job(client, alice, upload, wait_job)
    url = f"/api/v1/jobs/{job['id']}/result/parts/0"
    assert client.get(url, headers=bob.headers).status_code == 404
    assert client.get(url[:-1] + "3", headers=alice.headers).status_code == 404


def test_a_result_stored_as_one_file_keeps_working(client, alice, upload, wait_job):
    """Rows written before manifests point at one file; they download as before."""
    job = _finished_job(client, alice, upload, wait_job)
    platform = client.app.state.platform
    with session_scope(platform.sessions) as session:
        row = session.get_one(Job, job["id"])
        key = platform.storage.result_file(row.customer_id, row.id, "csv")
        with platform.storage.store.open_write(key) as sink:
            sink.write(b"a,b\n1,2\n")
        row.result_path = key
    url = f"/api/v1/jobs/{job['id']}/result"
    assert client.get(url, headers=alice.headers).content == b"a,b\n1,2\n"
    listed = client.get(f"{url}?parts=true", headers=alice.headers).json()
    assert [(p["index"], p["bytes"], p["sha256"]) for p in listed["parts"]] == [(0, 8, None)]
    assert client.get(listed["parts"][0]["url"], headers=alice.headers).content == b"a,b\n1,2\n"


def test_parquet_stream_unifies_a_part_whose_column_is_all_null(client, alice, upload, wait_job):
    job = _finished_job(client, alice, upload, wait_job, fmt="parquet")
    platform = client.app.state.platform
    with session_scope(platform.sessions) as session:
        manifest_key = session.get_one(Job, job["id"]).result_path
    with platform.storage.store.open_read(manifest_key) as source:
        manifest = json.loads(source.read())
    # Rewrite the last part with one column entirely null, as a sparse chunk may be.
    folder = manifest_key.rsplit("/", 1)[0]
    last = manifest["parts"][-1]
    key = f"{folder}/{last['key']}"
    with platform.storage.store.open_read(key) as source:
        table = pq.read_table(source)
    name = table.column_names[0]
    nulls = table.set_column(0, name, pa.nulls(table.num_rows, pa.null()))
    buffer = io.BytesIO()
    pq.write_table(nulls, buffer)
    data = buffer.getvalue()
    with platform.storage.store.open_write(key) as sink:
        sink.write(data)
    last.update(bytes=len(data), sha256=sha256(data))
    with platform.storage.store.open_write(manifest_key) as sink:
        sink.write(json.dumps(manifest).encode())
    whole = client.get(f"/api/v1/jobs/{job['id']}/result", headers=alice.headers)
    got = pq.read_table(io.BytesIO(whole.content))
    assert got.num_rows == ROWS and got.column(name).null_count == last["rows"]


def test_the_sdk_downloads_the_parts_side_by_side(client, alice, upload, wait_job, tmp_path):
    job = _finished_job(client, alice, upload, wait_job, fmt="parquet")
    sdk = Client("http://testserver", alice.secret, http=client)
    files = sdk.download_parts(job["id"], tmp_path / "parts", threads=3)
    assert [f.name for f in files] == [f"part-0000{i}.parquet" for i in range(3)]
    table = ds.dataset(tmp_path / "parts", format="parquet").to_table()
    whole = client.get(f"/api/v1/jobs/{job['id']}/result", headers=alice.headers).content
    assert table.equals(pq.read_table(io.BytesIO(whole)))
    # A part that differs from its checksum is refused, not saved.
    platform = client.app.state.platform
    with session_scope(platform.sessions) as session:
        row = session.get_one(Job, job["id"])
        key = platform.storage.part_file(row.customer_id, row.id, 2, "parquet")
    with platform.storage.store.open_read(key) as source:
        data = source.read()
    with platform.storage.store.open_write(key) as sink:
        sink.write(data[:-1] + bytes([data[-1] ^ 1]))
    with pytest.raises(PartChecksumError):
        sdk.download_parts(job["id"], tmp_path / "again", threads=3)
    assert not (tmp_path / "again" / "part-00002.parquet").exists()
