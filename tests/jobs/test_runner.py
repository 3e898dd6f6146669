"""The runner driven step by step: parts and manifest, duplicate delivery, leases, the reaper."""

from __future__ import annotations

import io
from datetime import timedelta

import pandas as pd
import pyarrow.parquet as pq
import pytest
from sqlalchemy import select, update
from tests.fixtures.jobs import generation_job, get_job, run_all_chunks
from tests.fixtures.results import manifest_of, part_key, result_bytes

from synthdata.jobs import leases
from synthdata.jobs.manifest import write_manifest
from synthdata.jobs.models import Job, JobChunk
from synthdata.jobs.reaper import reap
from synthdata.service.core.db import session_scope, utcnow
from synthdata.service.core.platform import Platform
from synthdata.service.models.models import SynthModel
from synthdata.service.usage.models import Charge


@pytest.fixture
def platform(settings_for):
    built = Platform.build(settings_for(job_chunk_rows=7))
    yield built
    built.stop()


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_chunked_job_equals_one_sample(platform, fmt):
    job_id, model = generation_job(platform, rows=50, fmt=fmt)
    run_all_chunks(platform, job_id)
    job = get_job(platform, job_id)
    assert (job.state, job.chunks_total, job.chunks_done, job.rows_done) == ("succeeded", 8, 8, 50)
    data = io.BytesIO(result_bytes(platform, job))
    got = pd.read_csv(data) if fmt == "csv" else pq.read_table(data).to_pandas()
    expected = model.sample(50, seed=9)
    if fmt == "csv":
        expected = pd.read_csv(pd.io.common.StringIO(expected.to_csv(index=False)))
    # Parquet may read text back as categorical: compare values, not dtypes.
    got, expected = got.astype({"c": str}), expected.astype({"c": str})
    pd.testing.assert_frame_equal(got.reset_index(drop=True), expected, check_dtype=False)
    # What stays is the manifest and the parts it lists (the job's model is removed).
    listed = [part_key(job, p.key) for p in manifest_of(platform, job).parts]
    folder = platform.storage.job_dir(job.customer_id, job_id)
    stored = sorted(o.key for o in platform.storage.store.list(folder))
    assert stored == sorted([job.result_path, *listed]) and len(listed) == 8


def test_duplicate_messages_change_nothing(platform):
    job_id, _ = generation_job(platform, rows=20)
    run_all_chunks(platform, job_id)
    first = result_bytes(platform, get_job(platform, job_id))
    parts = manifest_of(platform, get_job(platform, job_id)).parts
    # Every message delivered again, as at-least-once delivery allows.
    run_all_chunks(platform, job_id)
    platform.runner.finalize(job_id)
    job = get_job(platform, job_id)
    assert job.state == "succeeded"
    assert result_bytes(platform, job) == first
    assert manifest_of(platform, job).parts == parts
    with session_scope(platform.sessions) as session:
        charges = session.scalars(select(Charge)).all()
    assert [(c.job_id, c.rows, c.amount_micros) for c in charges] == [(job_id, 20, 40_000)]


def test_a_job_that_ran_once_is_one_attempt(platform):
    job_id, _ = generation_job(platform, rows=20)
    run_all_chunks(platform, job_id)
    job = get_job(platform, job_id)
    assert (job.state, job.attempts) == ("succeeded", 1)


def test_a_finalize_run_again_is_another_attempt(platform, monkeypatch):
    job_id, _ = generation_job(platform, rows=14)
    writes = []

    def fail_once(*args: object) -> int:
        writes.append(args)
        if len(writes) == 1:
            raise OSError("store hiccup")
        return write_manifest(*args)  # type: ignore[arg-type]

    monkeypatch.setattr("synthdata.jobs.runner_chunks.write_manifest", fail_once)
    run_all_chunks(platform, job_id)
    assert (get_job(platform, job_id).state, get_job(platform, job_id).attempts) == ("running", 1)
    platform.runner.finalize(job_id)  # the retry's message
    job = get_job(platform, job_id)
    assert (job.state, job.attempts) == ("succeeded", 2)


def test_reaper_resends_lapsed_chunk_and_stale_owner_cannot_complete(platform):
    job_id, _ = generation_job(platform, rows=14)
    platform.runner.prepare(job_id)  # plans 2 chunks and sends their messages
    with session_scope(platform.sessions) as session:
        token = leases.claim_chunk(session, job_id, 0, 60)
        assert token is not None
        # Nobody else can claim a chunk under a live lease.
        assert leases.claim_chunk(session, job_id, 0, 60) is None
        # The worker "dies": its lease runs out.
        session.execute(
            update(JobChunk)
            .where(JobChunk.job_id == job_id, JobChunk.index == 0)
            .values(lease_until=utcnow() - timedelta(seconds=1))
        )
    before = platform.queue.pending()
    redelivered = reap(platform.sessions, platform.queue, platform.settings)
    assert redelivered.chunks == [(job_id, 0)]
    assert platform.queue.pending() == before + 1
    with session_scope(platform.sessions) as session:
        chunk = session.scalars(
            select(JobChunk).where(JobChunk.job_id == job_id, JobChunk.index == 0)
        ).one()
        assert (chunk.state, chunk.claim_token) == ("queued", None)
        # The old owner's heartbeat now fails, so it stops without writing state.
        assert not leases.renew_chunk(session, chunk.id, job_id, token, 60, 3)
    # A second pass finds nothing: the re-sent message is waiting in the queue.
    assert len(reap(platform.sessions, platform.queue, platform.settings)) == 0
    for index in (0, 1):
        platform.runner.run_chunk(job_id, index)
    assert get_job(platform, job_id).state == "succeeded"


def test_reaper_resends_lapsed_prepare(platform):
    job_id, _ = generation_job(platform, rows=5)
    with session_scope(platform.sessions) as session:
        assert leases.claim_job(session, job_id, 60, phase="prepare") is not None
        session.execute(
            update(Job).where(Job.id == job_id).values(lease_until=utcnow() - timedelta(seconds=1))
        )
    assert reap(platform.sessions, platform.queue, platform.settings).prepare == [job_id]
    platform.runner.prepare(job_id)
    platform.runner.run_chunk(job_id, 0)
    assert get_job(platform, job_id).state == "succeeded"


def test_lost_message_is_resent_after_the_redelivery_delay(settings_for):
    platform = Platform.build(settings_for(job_redeliver_seconds=0.5))
    try:
        job_id, _ = generation_job(platform, rows=5)
        with session_scope(platform.sessions) as session:
            session.execute(
                update(Job)
                .where(Job.id == job_id)
                .values(enqueued_at=utcnow() - timedelta(seconds=5))
            )
        # The queue is empty, so the job's message was lost.
        assert reap(platform.sessions, platform.queue, platform.settings).prepare == [job_id]
    finally:
        platform.stop()


def test_cancelled_job_runs_nothing(platform):
    job_id, _ = generation_job(platform, rows=14)
    platform.runner.prepare(job_id)
    with session_scope(platform.sessions) as session:
        from synthdata.service.jobs.service import cancel_job

        cancel_job(session, session.get_one(Job, job_id))
    platform.runner.run_chunk(job_id, 0)
    platform.runner.finalize(job_id)
    job = get_job(platform, job_id)
    assert job.state == "cancelled" and job.chunks_done == 0
    assert not platform.storage.exists(platform.storage.manifest_file(job.customer_id, job_id))


def test_broken_model_fails_the_job_with_a_message(platform):
    job_id, _ = generation_job(platform, rows=5)
    job = get_job(platform, job_id)
    with session_scope(platform.sessions) as session:
        key = session.get_one(SynthModel, job.model_id).path
    with platform.storage.store.open_write(key) as sink:
        sink.write(b"not a model")
    run_all_chunks(platform, job_id)
    failed = get_job(platform, job_id)
    assert failed.state == "failed" and failed.error
