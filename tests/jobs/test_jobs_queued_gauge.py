"""The backlog GenerationQueueBacklog reads: jobs waiting to start, not queue messages.

One long job queues a message per chunk, so the queue's length grows with the job's
size while nothing waits; `synthdata_generation_jobs_queued` counts the jobs no worker
has started yet, read from the database when Prometheus scrapes.
"""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families
from tests.fixtures.jobs import generation_job, get_job

from synthdata.observability import metrics
from synthdata.observability.http import metrics_payload
from synthdata.service.core.platform import Platform
from synthdata.service.observe import bind_platform


@pytest.fixture
def platform(settings_for):
    built = Platform.build(settings_for(job_chunk_rows=7))
    yield built
    built.stop()


def _scrape(platform: Platform) -> dict[str, float]:
    bind_platform(platform)
    try:
        text = metrics_payload().decode()
    finally:
        for reader in ("queue_length", "jobs_queued", "work_in_flight", "active_users"):
            setattr(metrics.scrape_time, reader, None)
        metrics.scrape_time.cert_expiry_seconds = None
        metrics.scrape_time.incidents_open = None
        metrics.scrape_time.privileged_operations = None
    return {
        sample.name: sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if not sample.labels
    }


def test_jobs_queued_counts_jobs_not_yet_started(platform):
    assert _scrape(platform)["synthdata_generation_jobs_queued"] == 0
    waiting = [generation_job(platform, rows=5)[0] for _ in range(3)]
    assert _scrape(platform)["synthdata_generation_jobs_queued"] == 3

    platform.runner.prepare(waiting[0])  # started: no longer waiting
    assert get_job(platform, waiting[0]).state == "running"
    assert _scrape(platform)["synthdata_generation_jobs_queued"] == 2


def test_one_long_job_is_many_messages_and_no_queued_job(platform):
    job_id, _ = generation_job(platform, rows=700)  # 100 chunks of 7 rows
    platform.runner.prepare(job_id)  # plans the chunks and queues a message for each
    job = get_job(platform, job_id)
    assert (job.state, job.chunks_total) == ("running", 100)
    scraped = _scrape(platform)
    assert scraped["synthdata_generation_queue_length"] >= 100
    assert scraped["synthdata_generation_jobs_queued"] == 0
