"""`synthdata.client.Client` against a real HTTP server (uvicorn on loopback)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime

import pandas as pd
import pytest
from tests.fixtures.service import serving

from synthdata.client import Client, JobFailedError, ServiceError
from synthdata.service.app import create_app


@pytest.fixture
def server_url(settings) -> Iterator[str]:
    with serving(create_app(settings)) as url:
        yield url


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


def _people(path):
    pd.DataFrame({"age": [20, 31, 45, 52] * 25, "team": ["a", "b"] * 50}).to_csv(path, index=False)
    return path


def _progress_lines(stderr: str) -> list[str]:
    """The client's progress lines (the server in this process may log to stderr too)."""
    steps = ("uploading ", "dataset ", "job ", "downloading ", "wrote ")
    return [line for line in stderr.splitlines() if line.startswith(steps)]


def test_generate_a_file_in_one_call(server_url, alice, tmp_path, capsys):
    source = _people(tmp_path / "people.csv")
    with Client(server_url, alice.secret) as client:
        written = client.generate(str(source), rows=50, seed=3, progress=True, poll_interval=0.05)
        assert written == tmp_path / "people.synthetic.csv"
        frame = pd.read_csv(written)
        assert len(frame) == 50 and list(frame.columns) == ["age", "team"]
        printed = _progress_lines(capsys.readouterr().err)
        assert printed[0] == f"uploading people.csv ({source.stat().st_size} bytes)"
        assert re.fullmatch(r"dataset ds_\w+: 100 rows, 2 columns", printed[1]), printed
        assert re.fullmatch(r"job job_\w+ succeeded: 50 rows \(after \d+\.\d s\)", printed[-3])
        assert re.fullmatch(rf"downloading \d+ bytes to {re.escape(str(written))}", printed[-2])
        assert re.fullmatch(
            rf"wrote 50 synthetic rows \(\d+ bytes\) to {re.escape(str(written))}", printed[-1]
        )

        seen: list[dict] = []
        parquet = client.generate(
            source, rows=30, output=tmp_path / "out" / "p.parquet", progress=seen.append
        )
        assert parquet == tmp_path / "out" / "p.parquet"
        assert len(pd.read_parquet(parquet)) == 30
        assert seen[-1]["state"] == "succeeded" and seen[-1]["format"] == "parquet"
        assert _progress_lines(capsys.readouterr().err) == []  # a callable replaces printing

        assert [d["filename"] for d in client.datasets()] == ["people.csv", "people.csv"]
        assert {j["rows"] for j in client.jobs(state="succeeded")} == {50, 30}


def test_generate_refuses_mixed_forms(server_url, alice, tmp_path):
    source = _people(tmp_path / "people.csv")
    with Client(server_url, alice.secret) as client:
        with pytest.raises(TypeError, match="not both"):
            client.generate(source, rows=5, dataset_id="ds_x")
        with pytest.raises(TypeError, match="always waits"):
            client.generate(source, rows=5, wait=False)
        with pytest.raises(TypeError, match="file to upload"):
            client.generate(rows=5, dataset_id="ds_x", output="x.csv")
        assert client.datasets() == []  # nothing was uploaded


def test_lists_train_and_usage(server_url, alice, bob, tmp_path, monkeypatch):
    monkeypatch.setattr("synthdata.client.PAGE_SIZE", 2)  # so that lists span pages
    source = _people(tmp_path / "people.csv")
    with Client(server_url, alice.secret) as client:
        uploaded = [client.upload(source, name=f"people-{n}")["id"] for n in range(5)]
        listed = client.datasets()
        assert [d["id"] for d in listed] == uploaded[::-1]  # newest first, across 3 pages
        assert [d["id"] for d in client.datasets(limit=3)] == uploaded[:1:-1]
        assert client.dataset(uploaded[0])["name"] == "people-0"
        client.delete_dataset(uploaded[1])
        assert uploaded[1] not in [d["id"] for d in client.datasets()]

        assert client.models() == []
        model = client.train(uploaded[0], name="people model", poll_interval=0.05)
        assert model["state"] == "ready" and model["name"] == "people model"
        assert [m["id"] for m in client.models()] == [model["id"]]
        assert client.model(model["id"])["fitted_rows"] == 100

        before = datetime.now(UTC)
        for rows in (7, 8, 9):
            client.generate(model_id=model["id"], rows=rows, seed=1, poll_interval=0.05)
        jobs = client.jobs()
        assert [j["kind"] for j in jobs] == ["generate"] * 3 + ["train"]
        assert [j["rows"] for j in client.jobs(state="succeeded", limit=3)] == [9, 8, 7]
        assert client.jobs(state="failed") == []

        usage = client.usage(since=before)
        assert [(line["jobs"], line["rows"]) for line in usage["lines"]] == [(3, 24)]
        assert usage["lines"][0]["customer_id"] == alice.customer_id
        assert client.usage(since="2000-01-01T00:00:00Z")["lines"][0]["rows"] == 24
        assert client.usage(until=before)["lines"] == []
        with pytest.raises(ServiceError) as naive:
            client.usage(since=before.replace(tzinfo=None))
        assert naive.value.status == 422
    with Client(server_url, bob.secret) as other:  # another customer sees none of it
        assert other.datasets() == [] and other.models() == [] and other.jobs() == []
