"""A chunked job's result is its part files plus a manifest written last."""

from __future__ import annotations

import io

import pandas as pd
import pyarrow.parquet as pq
import pytest
from sqlalchemy import select
from tests.fixtures.jobs import generation_job, get_job, run_all_chunks
from tests.fixtures.results import manifest_of, part_key, result_bytes, sha256, stored_bytes

from synthdata.jobs import runner_chunks as runner_module
from synthdata.jobs.models import JobChunk
from synthdata.service.core.db import session_scope
from synthdata.service.core.platform import Platform
from synthdata.service.usage.models import Charge


@pytest.fixture
def platform(settings_for):
    built = Platform.build(settings_for(job_chunk_rows=7))
    yield built
    built.stop()


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_manifest_lists_every_part_with_its_checksum(platform, fmt):
    job_id, _ = generation_job(platform, rows=50, fmt=fmt, seed=4)
    run_all_chunks(platform, job_id)
    job = get_job(platform, job_id)
    manifest = manifest_of(platform, job)
    assert job.result_path == platform.storage.manifest_file(job.customer_id, job_id)
    assert (manifest.job_id, manifest.model_id, manifest.seed) == (job_id, job.model_id, 4)
    assert (manifest.format, manifest.rows, manifest.synthesizer) == (fmt, 50, job.synthesizer)
    assert manifest.created_at.startswith(str(job.finished_at.year))
    assert [p.index for p in manifest.parts] == list(range(8))
    assert [p.rows for p in manifest.parts] == [7] * 7 + [1]
    assert manifest.parts[3].key == f"parts/part-00003.{fmt}"
    for part in manifest.parts:
        data = stored_bytes(platform, part_key(job, part.key))
        assert (part.bytes, part.sha256) == (len(data), sha256(data))
        one = (
            pd.read_csv(io.BytesIO(data))
            if fmt == "csv"
            else pq.read_table(io.BytesIO(data)).to_pandas()
        )
        assert len(one) == part.rows
    assert job.result_bytes == manifest.total_bytes == sum(p.bytes for p in manifest.parts)
    with session_scope(platform.sessions) as session:
        rows = session.scalars(select(JobChunk).where(JobChunk.job_id == job_id)).all()
        recorded = {(c.index, c.part_bytes, c.part_sha256) for c in rows}
    assert recorded == {(p.index, p.bytes, p.sha256) for p in manifest.parts}


def test_a_retried_chunk_overwrites_its_part_with_the_same_bytes(platform, monkeypatch):
    job_id, _ = generation_job(platform, rows=14)
    platform.runner.prepare(job_id)
    job = get_job(platform, job_id)
    key = platform.storage.part_file(job.customer_id, job_id, 0, "csv")
    calls: list[object] = []

    complete = runner_module.complete_chunk

    def crash_once(*args, **kwargs):  # the worker dies after the upload, before the commit
        calls.append(args)
        if len(calls) == 1:
            raise OSError("connection to the database lost")
        return complete(*args, **kwargs)

    monkeypatch.setattr(runner_module, "complete_chunk", crash_once)
    platform.runner.run_chunk(job_id, 0)
    first = stored_bytes(platform, key)
    with session_scope(platform.sessions) as session:
        chunk = session.scalars(
            select(JobChunk).where(JobChunk.job_id == job_id, JobChunk.index == 0)
        ).one()
        assert (chunk.state, chunk.part_sha256) == ("queued", None)  # rolled back
    platform.runner.run_chunk(job_id, 0)  # the retry's message
    platform.runner.run_chunk(job_id, 1)
    job = get_job(platform, job_id)
    assert job.state == "succeeded"
    parts = [
        o.key
        for o in platform.storage.store.list(
            platform.storage.job_dir(job.customer_id, job_id) + "/parts"
        )
    ]
    assert sorted(parts) == [key, platform.storage.part_file(job.customer_id, job_id, 1, "csv")]
    assert manifest_of(platform, job).parts[0].sha256 == sha256(first)
    assert stored_bytes(platform, key) == first
    with session_scope(platform.sessions) as session:
        assert [c.rows for c in session.scalars(select(Charge))] == [14]


def test_a_lost_part_fails_the_job_instead_of_a_short_result(platform):
    job_id, _ = generation_job(platform, rows=14)
    platform.runner.prepare(job_id)
    platform.runner.run_chunk(job_id, 0)
    job = get_job(platform, job_id)
    platform.storage.store.delete(platform.storage.part_file(job.customer_id, job_id, 0, "csv"))
    platform.runner.run_chunk(job_id, 1)
    failed = get_job(platform, job_id)
    assert failed.state == "failed" and "parts were lost" in (failed.error or "")
    with session_scope(platform.sessions) as session:
        assert session.scalars(select(Charge)).all() == []


def test_streamed_result_equals_the_rows_of_the_parts_in_order(platform):
    job_id, model = generation_job(platform, rows=30, seed=2)
    run_all_chunks(platform, job_id)
    got = pd.read_csv(io.BytesIO(result_bytes(platform, get_job(platform, job_id))))
    expected = pd.read_csv(io.StringIO(model.sample(30, seed=2).to_csv(index=False)))
    pd.testing.assert_frame_equal(got, expected)
