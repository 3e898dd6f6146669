"""Disk leaks (issue 13, item 5): nothing stays on disk that no row accounts for.

A cancelled job and a failed job leave 0 bytes (they kept their parts and fitted
model: 121 + 61 MB after two cancels); an upload whose insert fails leaves 0 bytes (it
left a file no row pointed to, so no API call could delete it); and the orphan sweep
(`synthdata ops cleanup-storage`, and periodically in every worker) removes files no
row references once they are older than the grace period, keeping younger ones and
everything referenced. Each runs on SQLite and PostgreSQL (the `database_url` fixture).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from typer.testing import CliRunner

from synthdata.cli.main import app as cli
from synthdata.service.app import create_app
from synthdata.service.core.db import make_engine
from synthdata.service.core.settings import Settings
from tests.fixtures.service import CSV, Caller

AGED = time.time() - 2 * 3600  # two hours ago: past a one-hour grace period


def _bytes(path: Path) -> int:
    """Bytes of every file under `path` (0 when it does not exist)."""
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) if path.exists() else 0


def _files(path: Path) -> set[str]:
    return {f.relative_to(path).as_posix() for f in path.rglob("*") if f.is_file()}


def _upload(client: TestClient, caller: Caller) -> Any:
    response = client.post(
        "/api/v1/datasets", headers=caller.headers, files={"file": ("people.csv", CSV)}
    )
    assert response.status_code == 201, response.text
    return response.json()


def _poll(
    client: TestClient,
    caller: Caller,
    job_id: str,
    done: Callable[[Any], bool],
    timeout: float = 90,
) -> Any:
    """Poll a job until `done(job)`; the timeout only stops a hung test."""
    deadline = time.monotonic() + timeout
    while True:
        response = client.get(f"/api/v1/jobs/{job_id}", headers=caller.headers)
        body = response.json()
        if response.status_code == 200 and done(body):
            return body
        assert response.status_code in (200, 503), response.text  # 503: retry, as clients do
        assert time.monotonic() < deadline, f"job never got there: {body}"
        time.sleep(0.05)


def _final(body: Any) -> bool:
    return body["state"] in ("succeeded", "failed", "cancelled")


@pytest.fixture
def many_chunks(settings_for: Callable[..., Settings]) -> Settings:
    """Small chunks, so a big job is still running when the test acts on it."""
    return settings_for(job_chunk_rows=2_000)


BIG_JOB_ROWS = 1_000_000  # 500 chunks: far more than run before the test acts


def _big_job_under_way(
    client: TestClient, alice: Caller, customer_dir: Path
) -> tuple[dict[str, Any], dict[str, Any], Path]:
    """Upload, start a big job and wait until it runs with its fitted model and two
    parts on disk (the bytes a cancel or a failure used to leak): dataset, job, job dir."""
    dataset = _upload(client, alice)
    job = client.post(
        "/api/v1/jobs",
        headers=alice.headers,
        json={"dataset_id": dataset["id"], "rows": BIG_JOB_ROWS},
    ).json()
    running = _poll(client, alice, job["id"], lambda b: b["chunks_done"] >= 2 or _final(b))
    assert running["state"] == "running", running
    job_dir = customer_dir / "jobs" / job["id"]
    assert (job_dir / "model.synth").is_file() and len(_files(job_dir / "parts")) >= 2
    return dataset, job, job_dir


def test_cancelled_job_leaves_no_bytes(many_chunks: Settings, alice: Caller) -> None:
    customer_dir = many_chunks.data_dir / "customers" / str(alice.customer_id)
    with TestClient(create_app(many_chunks)) as client:
        dataset, job, job_dir = _big_job_under_way(client, alice, customer_dir)
        cancelled = client.post(f"/api/v1/jobs/{job['id']}/cancel", headers=alice.headers)
        assert cancelled.status_code == 200, cancelled.text
    # Leaving the client stops its worker gracefully: the chunk that was running when
    # the job was cancelled has stopped (and removed what it wrote) by now.
    assert _bytes(job_dir) == 0
    assert _files(customer_dir) == {f"datasets/{dataset['id']}/data.csv"}


def test_failed_job_leaves_no_bytes(many_chunks: Settings, alice: Caller) -> None:
    customer_dir = many_chunks.data_dir / "customers" / str(alice.customer_id)
    with TestClient(create_app(many_chunks)) as client:
        dataset, job, job_dir = _big_job_under_way(client, alice, customer_dir)
        # The storage loses the job's fitted model: its next chunk fails, and so the job.
        (job_dir / "model.synth").unlink()
        failed = _poll(client, alice, job["id"], _final)
        assert failed["state"] == "failed" and "not found" in failed["error"], failed
    assert _bytes(job_dir) == 0
    assert _files(customer_dir) == {f"datasets/{dataset['id']}/data.csv"}


@pytest.fixture
def datasets_refuse_inserts(database_url: str) -> Iterator[None]:
    """A real database error on every INSERT into `datasets` (a trigger), then removed."""
    engine = make_engine(database_url)
    sqlite = engine.dialect.name == "sqlite"
    create = (
        [
            "CREATE TRIGGER refuse_datasets BEFORE INSERT ON datasets "
            "BEGIN SELECT RAISE(ABORT, 'datasets refuse inserts in this test'); END"
        ]
        if sqlite
        else [
            "CREATE FUNCTION refuse_datasets() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "RAISE EXCEPTION 'datasets refuse inserts in this test' "
            "USING ERRCODE = 'check_violation'; END $$",
            "CREATE TRIGGER refuse_datasets BEFORE INSERT ON datasets "
            "FOR EACH ROW EXECUTE FUNCTION refuse_datasets()",
        ]
    )
    drop = (
        ["DROP TRIGGER IF EXISTS refuse_datasets"]
        if sqlite
        else [
            "DROP TRIGGER IF EXISTS refuse_datasets ON datasets",
            "DROP FUNCTION IF EXISTS refuse_datasets()",
        ]
    )
    with engine.begin() as connection:
        for statement in create:
            connection.execute(text(statement))
    try:
        yield
    finally:
        with engine.begin() as connection:
            for statement in drop:
                connection.execute(text(statement))
        engine.dispose()


def test_upload_whose_insert_fails_leaves_no_bytes(
    settings: Settings, alice: Caller, datasets_refuse_inserts: None
) -> None:
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        response = client.post(
            "/api/v1/datasets", headers=alice.headers, files={"file": ("people.csv", CSV)}
        )
        assert response.status_code >= 500, response.text  # the insert did fail
        listed = client.get("/api/v1/datasets", headers=alice.headers).json()["items"]
    assert listed == []
    assert _bytes(settings.data_dir / "customers") == 0


# -- the orphan sweep ---------------------------------------------------------------------
@pytest.fixture
def stored(settings: Settings, alice: Caller, bob: Caller) -> dict[str, Any]:
    """Referenced files of every kind, orphans old and young, and files beside the tree.

    Every file is aged past the one-hour grace except the young orphan, so only the
    references (and the work-in-progress rule) can keep them.
    """
    customers = settings.data_dir / "customers"
    with TestClient(create_app(settings)) as client:
        dataset = _upload(client, alice)
        model = client.post(
            "/api/v1/models", headers=alice.headers, json={"dataset_id": dataset["id"]}
        ).json()
        assert _poll(client, alice, model["job_id"], _final)["state"] == "succeeded"
        job = client.post(
            "/api/v1/jobs", headers=alice.headers, json={"model_id": model["id"], "rows": 50}
        ).json()
        assert _poll(client, alice, job["id"], _final)["state"] == "succeeded"
    with TestClient(create_app(settings, workers=0)) as idle:  # stays queued: in progress
        queued = idle.post(
            "/api/v1/jobs",
            headers=bob.headers,
            json={"dataset_id": _upload(idle, bob)["id"], "rows": 5},
        ).json()
    alice_dir, bob_dir = f"customers/{alice.customer_id}", f"customers/{bob.customer_id}"
    planted = {
        "old": [
            f"{alice_dir}/datasets/ds_0000000000000000000000000001/data.csv",  # insert failed
            # left by a crash between the job's success and the removal of its model
            f"{alice_dir}/jobs/{job['id']}/model.synth",
            "customers/cus_deleted/models/mdl_gone/model.synth",  # customer deleted
        ],
        "young": [f"{alice_dir}/jobs/job_0000000000000000000000000002/model.synth"],
        "in_progress": [f"{bob_dir}/jobs/{queued['id']}/parts/part-00000.csv"],
        "beside": ["cache/models/some-entry.synth"],  # the model cache expires its own
    }
    for group in planted.values():
        for relative in group:
            path = settings.data_dir / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(b"x" * 1000)
    referenced = _files(customers)
    for path in settings.data_dir.rglob("*"):
        os.utime(path, (AGED, AGED))
    for relative in planted["young"]:
        os.utime(settings.data_dir / relative)  # written just now
    referenced = {
        f"customers/{r}"
        for r in referenced
        if f"customers/{r}" not in planted["old"] + planted["young"] + planted["in_progress"]
    }
    # A result is its manifest and the parts it lists (no column names the parts).
    names = {Path(r).name for r in referenced}
    assert {"data.csv", "model.synth", "manifest.json", "part-00000.csv"} <= names
    return {**planted, "referenced": referenced}


def _everything(settings: Settings) -> set[str]:
    """The stored artifacts and the model cache (not the local queue's files)."""
    return {f for f in _files(settings.data_dir) if f.startswith(("customers/", "cache/"))}


def _cleanup_storage(settings: Settings, *args: str) -> Any:
    env = {
        "SYNTHDATA_DATABASE_URL": settings.database_url,
        "SYNTHDATA_DATA_DIR": str(settings.data_dir),
        "SYNTHDATA_MIGRATE_ON_START": "false",
    }
    result = CliRunner().invoke(cli, ["ops", "cleanup-storage", *args, "--json"], env=env)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_cleanup_storage_removes_old_orphans_only(
    settings: Settings, stored: dict[str, Any]
) -> None:
    before = _everything(settings)
    dry = _cleanup_storage(settings, "--older-than", "1h", "--dry-run")
    orphans = next(f for f in dry["findings"] if f["name"] == "orphans")
    assert sorted(orphans["data"]["paths"]) == sorted(stored["old"])
    assert _everything(settings) == before  # a dry run deletes nothing

    done = _cleanup_storage(settings, "--older-than", "1h")
    orphans = next(f for f in done["findings"] if f["name"] == "orphans")
    assert orphans["data"]["files"] == 3 and orphans["data"]["bytes"] == 3000
    left = _everything(settings)
    assert not left & set(stored["old"])
    assert set(stored["young"]) | set(stored["in_progress"]) | set(stored["beside"]) <= left
    assert stored["referenced"] <= left
    # The emptied folders went too (the deleted customer's object folder, the dataset's).
    assert not (settings.data_dir / "customers/cus_deleted/models/mdl_gone").exists()


def test_worker_sweeps_orphans_periodically(
    settings_for: Callable[..., Settings], settings: Settings, stored: dict[str, Any]
) -> None:
    sweeping = settings_for(orphan_grace_seconds=3600, orphan_sweep_interval_seconds=0.2)
    with TestClient(create_app(sweeping)):
        deadline = time.monotonic() + 30
        while set(stored["old"]) & _everything(settings):
            assert time.monotonic() < deadline, "the worker never swept the orphans"
            time.sleep(0.1)
    left = _everything(settings)
    assert set(stored["young"]) | set(stored["in_progress"]) | set(stored["beside"]) <= left
    assert stored["referenced"] <= left
