"""What the job code reports for GenerationQueueStalled and GenerationSuccessRateLow.

The rules (monitoring/prometheus/rules/generation.yml) read progress, not job
starts: chunks completed and work held under a live lease; and the success rate
over finished jobs: succeeded / (succeeded + failed). These tests run real jobs
through the runner and read the counters and the scrape-time gauge they feed.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import update
from tests.fixtures.jobs import generation_job, get_job, run_all_chunks

from synthdata.engine.base import DEFAULT_SYNTHESIZER
from synthdata.jobs import leases
from synthdata.jobs.models import Job, JobChunk
from synthdata.observability import metrics
from synthdata.observability.http import metrics_payload
from synthdata.service.core.db import session_scope, utcnow
from synthdata.service.core.platform import Platform
from synthdata.service.models.models import SynthModel
from synthdata.service.observe import bind_platform


@pytest.fixture
def platform(settings_for):
    built = Platform.build(settings_for(job_chunk_rows=7))
    yield built
    built.stop()


def _sample(name: str, synthesizer: str = DEFAULT_SYNTHESIZER) -> float:
    return REGISTRY.get_sample_value(name, {"synthesizer": synthesizer}) or 0.0


def test_every_completed_chunk_is_counted_as_progress(platform):
    job_id, _ = generation_job(platform, rows=50)  # 8 chunks of at most 7 rows
    before = _sample("synthdata_generation_chunks_completed_total")
    platform.runner.prepare(job_id)
    platform.runner.run_chunk(job_id, 0)
    # Mid-job: no new start and no end, but progress shows.
    assert _sample("synthdata_generation_chunks_completed_total") == before + 1
    for index in range(1, 8):
        platform.runner.run_chunk(job_id, index)
    platform.runner.run_chunk(job_id, 3)  # a duplicate delivery completes nothing
    assert get_job(platform, job_id).state == "succeeded"
    assert _sample("synthdata_generation_chunks_completed_total") == before + 8


def test_finished_jobs_count_as_succeeded_or_failed(platform):
    ok_id, _ = generation_job(platform, rows=5)
    broken_id, _ = generation_job(platform, rows=5)
    with session_scope(platform.sessions) as session:
        model_id = session.get_one(Job, broken_id).model_id
        key = session.get_one(SynthModel, model_id).path
    with platform.storage.store.open_write(key) as sink:
        sink.write(b"not a model")
    succeeded = _sample("synthdata_generation_success_total")
    failed = _sample("synthdata_generation_failures_total")
    run_all_chunks(platform, ok_id)
    run_all_chunks(platform, broken_id)
    assert (get_job(platform, ok_id).state, get_job(platform, broken_id).state) == (
        "succeeded",
        "failed",
    )
    assert _sample("synthdata_generation_success_total") == succeeded + 1
    assert _sample("synthdata_generation_failures_total") == failed + 1
    # Failing it again (a late message) is not a second failure.
    platform.runner.fail(broken_id, "again")
    assert _sample("synthdata_generation_failures_total") == failed + 1


def test_work_in_flight_counts_live_leases_only(platform):
    job_id, _ = generation_job(platform, rows=14)
    with session_scope(platform.sessions) as session:
        assert leases.live_leases(session) == 0
        assert leases.claim_job(session, job_id, 60, phase="prepare") is not None
        assert leases.live_leases(session) == 1  # preparing (fitting) is work in flight
        session.execute(update(Job).where(Job.id == job_id).values(lease_until=None))
    platform.runner.prepare(job_id)  # plans 2 chunks; the job lease is given back
    with session_scope(platform.sessions) as session:
        assert leases.live_leases(session) == 0
        assert leases.claim_chunk(session, job_id, 0, 60) is not None
        assert leases.claim_chunk(session, job_id, 1, 60) is not None
        assert leases.live_leases(session) == 2
        # One worker died: its lease ran out, so its chunk is no longer in flight.
        session.execute(
            update(JobChunk)
            .where(JobChunk.job_id == job_id, JobChunk.index == 0)
            .values(lease_until=utcnow() - timedelta(seconds=1))
        )
        assert leases.live_leases(session) == 1


def test_work_in_flight_is_exposed_at_scrape_time(platform):
    job_id, _ = generation_job(platform, rows=14)
    platform.runner.prepare(job_id)
    bind_platform(platform)
    try:
        with session_scope(platform.sessions) as session:
            assert leases.claim_chunk(session, job_id, 1, 60) is not None
        text = metrics_payload().decode()
    finally:
        metrics.scrape_time.work_in_flight = None
        metrics.scrape_time.queue_length = None
        metrics.scrape_time.active_users = None
        metrics.scrape_time.cert_expiry_seconds = None
        metrics.scrape_time.incidents_open = None
    assert "# TYPE synthdata_generation_work_in_flight gauge" in text
    assert "synthdata_generation_work_in_flight 1.0" in text
    for name in ("failures", "chunks_completed"):
        assert f'synthdata_generation_{name}_total{{synthesizer="{DEFAULT_SYNTHESIZER}"}} ' in text


def _durations(size_class: str) -> float:
    return (
        REGISTRY.get_sample_value(
            "synthdata_generation_duration_seconds_count",
            {"synthesizer": DEFAULT_SYNTHESIZER, "size_class": size_class},
        )
        or 0.0
    )


def test_duration_is_classed_by_the_larger_of_input_and_result(settings_for):
    """Many rows from a tiny table is a medium job, not a slow small one (a false page)."""
    built = Platform.build(settings_for(job_chunk_rows=100_000))
    try:
        tiny, many = generation_job(built, rows=10)[0], generation_job(built, rows=200_000)[0]
        before = {c: _durations(c) for c in ("small", "medium")}
        run_all_chunks(built, tiny)
        run_all_chunks(built, many)
        job = get_job(built, many)
        assert job.state == "succeeded" and 1_000_000 <= job.result_bytes <= 100_000_000
        assert _durations("small") == before["small"] + 1
        assert _durations("medium") == before["medium"] + 1
    finally:
        built.stop()
