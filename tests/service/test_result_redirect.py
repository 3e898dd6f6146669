"""Results in object storage: presigned part URLs, the 307 redirect for a result that
is one object, and the SDK download following it without sending the API key on."""

from __future__ import annotations

import io
import uuid

import httpx
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from tests.fixtures.objectstore import s3_server  # noqa: F401  (the fixture)
from tests.fixtures.results import s3_overrides, sha256
from tests.fixtures.service import serving

from synthdata.client import Client
from synthdata.service.app import create_app


@pytest.fixture
def settings(settings_for, s3_server):  # noqa: F811
    prefix = f"t-{uuid.uuid4().hex[:12]}"
    overrides = s3_overrides(s3_server.endpoint, s3_server.bucket, prefix)
    return settings_for(job_chunk_rows=50, result_redirect=True, **overrides)


def _job(client, caller, upload, wait_job, rows):
    body = {"dataset_id": upload(caller)["id"], "rows": rows, "seed": 4}
    job = client.post("/api/v1/jobs", headers=caller.headers, json=body).json()
    done = wait_job(caller, job["id"])
    assert done["state"] == "succeeded", done
    return done


def test_parts_are_listed_with_presigned_urls(client, alice, upload, wait_job, s3_server):  # noqa: F811
    job = _job(client, alice, upload, wait_job, rows=120)
    listed = client.get(f"/api/v1/jobs/{job['id']}/result?parts=true", headers=alice.headers)
    parts = listed.json()["parts"]
    assert len(parts) == 3
    frames = []
    for part in parts:
        assert part["url"].startswith(s3_server.endpoint + "/")
        got = httpx.get(part["url"])  # no API key: the URL is signed
        assert got.status_code == 200
        assert (len(got.content), sha256(got.content)) == (part["bytes"], part["sha256"])
        frames.append(pd.read_csv(io.BytesIO(got.content)))
    # Several parts are not one object: streamed through the API, not redirected.
    whole = client.get(f"/api/v1/jobs/{job['id']}/result", headers=alice.headers)
    assert whole.status_code == 200
    joined = pd.concat(frames, ignore_index=True)
    pd.testing.assert_frame_equal(pd.read_csv(io.BytesIO(whole.content)), joined)


def test_one_object_redirects_and_the_sdk_follows(
    client, alice, upload, wait_job, settings, tmp_path
):
    job = _job(client, alice, upload, wait_job, rows=30)
    url = f"/api/v1/jobs/{job['id']}/result"
    answer = client.get(url, headers=alice.headers, follow_redirects=False)
    assert answer.status_code == 307
    location = answer.headers["location"]
    part = client.get(f"{url}?parts=true", headers=alice.headers).json()["parts"][0]
    assert sha256(httpx.get(location).content) == part["sha256"]
    assert (
        client.get(f"{url}/parts/0", headers=alice.headers, follow_redirects=False).status_code
        == 307
    )
    seen: list[httpx.Request] = []
    with serving(create_app(settings, workers=0)) as api:
        http = httpx.Client(base_url=api, event_hooks={"request": [seen.append]})
        with Client(api, alice.secret, http=http) as sdk:
            target = sdk.download(job["id"], tmp_path / "r.csv")
            files = sdk.download_parts(job["id"], tmp_path / "parts")
        http.close()
    assert sha256(target.read_bytes()) == sha256(files[0].read_bytes()) == part["sha256"]
    api_port = seen[0].url.port
    # The API key goes to the API only, never to the object store's presigned URLs.
    assert [r.url.port == api_port for r in seen] == [True, False, True, False]
    assert not any("authorization" in r.headers for r in seen if r.url.port != api_port)
    assert len(pd.read_csv(target)) == 30
    # Without the setting, the one object streams through the API.
    direct = settings.model_copy(update={"result_redirect": False})
    with TestClient(create_app(direct, workers=0)) as plain:
        streamed = plain.get(url, headers=alice.headers, follow_redirects=False)
    assert streamed.status_code == 200 and sha256(streamed.content) == part["sha256"]
