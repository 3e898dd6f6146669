"""`synthdata.client.Client` against a real HTTP server (uvicorn on loopback)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pandas as pd
import pytest
import uvicorn

from synthdata.client import Client, JobFailedError, ServiceError
from synthdata.service.app import create_app


@pytest.fixture
def server_url(settings) -> Iterator[str]:
    config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=0, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=30)


def test_upload_generate_download(server_url, alice, tmp_path):
    source = tmp_path / "people.csv"
    pd.DataFrame({"age": [20, 31, 45, 52] * 25, "team": ["a", "b"] * 50}).to_csv(
        source, index=False
    )
    with Client(server_url, alice.secret) as client:
        assert client.me()["customer"]["id"] == alice.customer_id
        dataset = client.upload(source, name="people")
        assert dataset["name"] == "people" and dataset["rows"] == 100
        job = client.generate(dataset_id=dataset["id"], rows=64, seed=4, poll_interval=0.05)
        assert job["state"] == "succeeded"
        out = client.download(job["id"], tmp_path / "out" / "synthetic.csv")
        frame = pd.read_csv(out)
        assert len(frame) == 64 and list(frame.columns) == ["age", "team"]


def test_errors_carry_the_problem(server_url, alice):
    with Client(server_url, alice.secret) as client:
        with pytest.raises(ServiceError) as missing:
            client.job("job_nope")
        assert missing.value.status == 404 and missing.value.problem["status"] == 404
        with pytest.raises(ServiceError) as not_ready:
            client.download("job_nope", "/tmp/never-written.csv")
        assert not_ready.value.status == 404
    with Client(server_url, "sdk_wrong") as client, pytest.raises(ServiceError) as bad:
        client.me()
    assert bad.value.status == 401


def test_failed_job_raises(server_url, alice, tmp_path):
    source = tmp_path / "t.csv"
    source.write_text("a,b\n1,x\n2,y\n3,x\n")
    with Client(server_url, alice.secret) as client:
        dataset = client.upload(source)
        client.generate(dataset_id=dataset["id"], rows=1, wait=False)
        with pytest.raises(ServiceError) as unknown:
            client.generate(dataset_id=dataset["id"], rows=1, synthesizer="nope")
        assert unknown.value.status == 422
        job = client.generate(dataset_id=dataset["id"], rows=5, wait=False)
        client.cancel(job["id"])
        with pytest.raises(JobFailedError) as cancelled:
            client.wait(job["id"], poll_interval=0.05)
        assert cancelled.value.job["state"] == "cancelled"
