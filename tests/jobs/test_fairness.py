"""Fair scheduling across tenants: which chunk a message runs, and each plan's limit.

Messages are taken from the real queue (SQLite or Redis) and executed one by one, so
the order of claims is exact; the races run threads against the real database.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from tests.fixtures.jobs import generation_job, get_job, wait_for, worker_env

from synthdata.jobs import fairness
from synthdata.jobs.models import JobChunk
from synthdata.jobs.reaper import reap
from synthdata.service.core.db import make_engine, make_session_factory, session_scope, utcnow
from synthdata.service.core.platform import Platform
from synthdata.service.core.settings import Settings
from synthdata.service.usage.models import Charge

CHUNK_ROWS = 7


@pytest.fixture(params=["local", "redis"])
def build(
    request: pytest.FixtureRequest,
    settings_for: Callable[..., Settings],
    redis_url: str,
    redis_prefix: str,
) -> Iterator[Callable[..., Platform]]:
    """Platforms on this test's database, with the SQLite queue or the Redis one."""
    built: list[Platform] = []

    def make(**overrides: object) -> Platform:
        queue: dict[str, object] = {}
        if request.param == "redis":
            queue = {"queue": "redis", "redis_url": redis_url, "queue_name": redis_prefix}
        platform = Platform.build(settings_for(job_chunk_rows=CHUNK_ROWS, **queue, **overrides))
        built.append(platform)
        return platform

    yield make
    for platform in built:
        platform.stop()


def _next_message(platform: Platform) -> tuple[str, tuple[object, ...]] | None:
    task = platform.queue.huey.dequeue()
    if task is None:
        return None
    platform.queue.huey.execute(task)
    return task.name, tuple(task.args)


def _drain(platform: Platform) -> list[tuple[str, tuple[object, ...]]]:
    """Execute every message in queue order, as one worker would; return them."""
    seen = []
    while (message := _next_message(platform)) is not None:
        seen.append(message)
    return seen


def _chunks(platform: Platform, *job_ids: str) -> list[JobChunk]:
    with session_scope(platform.sessions) as session:
        return list(session.scalars(select(JobChunk).where(JobChunk.job_id.in_(job_ids))))


def _finish_order(platform: Platform, *job_ids: str) -> list[tuple[str, int]]:
    chunks = [c for c in _chunks(platform, *job_ids) if c.finished_at is not None]
    done = sorted((c.finished_at, c.job_id, c.index) for c in chunks)
    return [(job_id, index) for _, job_id, index in done]


def test_a_new_jobs_prepare_goes_ahead_of_queued_chunks(build):
    platform = build()
    backlog, _ = generation_job(platform, rows=10 * CHUNK_ROWS)
    platform.queue.send_prepare(backlog)
    assert _next_message(platform) == ("prepare_job", (backlog,))  # sends 10 chunk messages
    small, _ = generation_job(platform, rows=CHUNK_ROWS)
    platform.queue.send_prepare(small)
    assert _next_message(platform) == ("prepare_job", (small,))


def test_a_small_job_runs_before_the_rest_of_a_backlog(build):
    platform = build()
    a, _ = generation_job(platform, rows=10 * CHUNK_ROWS)
    platform.queue.send_prepare(a)
    _next_message(platform)
    # One worker is busy with A's first chunk (claimed through its message, not run).
    task = platform.queue.huey.dequeue()
    assert task is not None and task.name == "run_chunk"
    settings = platform.settings
    held = fairness.claim_chunk(platform.sessions, settings, *task.args, 60)
    assert isinstance(held, fairness.Claim) and (held.job_id, held.index) == (a, 0)

    b, _ = generation_job(platform, rows=2 * CHUNK_ROWS)
    platform.queue.send_prepare(b)
    messages = _drain(platform)  # the other worker takes every message in turn
    assert messages[0] == ("prepare_job", (b,))
    # Nine of the ten chunk messages it took were A's, yet B's chunks ran first.
    assert [args[0] for name, args in messages[1:]].count(a) == 9
    assert _finish_order(platform, a, b) == [(b, 0), (b, 1)] + [(a, i) for i in range(1, 10)]
    assert get_job(platform, b).state == "succeeded"

    platform.runner.run_chunk(a, 0, claimed=held.token)
    assert get_job(platform, a).state == "succeeded"
    assert {(c.state, c.attempts) for c in _chunks(platform, a, b)} == {("done", 1)}


def test_one_worker_serves_tenants_in_turn(build):
    platform = build()
    a, _ = generation_job(platform, rows=4 * CHUNK_ROWS)
    b, _ = generation_job(platform, rows=2 * CHUNK_ROWS)
    platform.queue.send_prepare(a)
    platform.queue.send_prepare(b)
    _drain(platform)
    assert _finish_order(platform, a, b) == [(a, 0), (b, 0), (a, 1), (b, 1), (a, 2), (a, 3)]


def _race(platform: Platform, job_id: str, claimers: int) -> list[fairness.Claim]:
    """`claimers` workers, each with its own connections, claim at the same moment."""
    barrier = threading.Barrier(claimers)
    claims: list[fairness.Claim | None] = []
    lock = threading.Lock()

    def claimer() -> None:
        engine = make_engine(platform.settings.database_url)
        try:
            sessions = make_session_factory(engine)
            barrier.wait()
            claim = fairness.claim_chunk(sessions, platform.settings, job_id, 0, 60)
            while isinstance(claim, fairness.Busy):  # the message would be sent again
                claim = fairness.claim_chunk(sessions, platform.settings, job_id, 0, 60)
            with lock:
                claims.append(claim)
        finally:
            engine.dispose()

    threads = [threading.Thread(target=claimer) for _ in range(claimers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(claims) == claimers
    return [claim for claim in claims if claim is not None]


def test_the_plan_limit_holds_when_workers_race(build):
    platform = build(plan_limits={"standard": {"concurrency": 2}})
    a, _ = generation_job(platform, rows=12 * CHUNK_ROWS)
    platform.runner.prepare(a)
    first = _race(platform, a, claimers=6)
    assert len(first) == 2 and len({c.index for c in first}) == 2
    # The four refused messages parked four chunks; none is due while A is at its limit.
    parked = [c for c in _chunks(platform, a) if c.state == "queued" and c.enqueued_at is None]
    assert len(parked) == 4
    platform.queue.huey.flush()  # every message is lost: the reaper looks at all waiting
    assert reap(platform.sessions, platform.queue, platform.settings).chunks == []
    assert fairness.wake(platform.sessions, platform.settings) == []

    # One chunk ends: one slot is free, so one parked chunk gets a message again.
    platform.runner.run_chunk(a, first[0].index, claimed=first[0].token)
    woken = fairness.wake(platform.sessions, platform.settings)
    assert len(woken) == 1 and woken[0] in {(a, c.index) for c in parked}
    second = _race(platform, a, claimers=4)
    assert len(second) == 1
    claimed = {c.index for c in first + second}
    assert len(claimed) == 3  # no chunk claimed twice


def test_a_parked_chunk_whose_wake_up_was_lost_is_resent(build):
    platform = build(plan_limits={"standard": {"concurrency": 1}}, job_redeliver_seconds=3600)
    a, _ = generation_job(platform, rows=3 * CHUNK_ROWS)
    platform.runner.prepare(a)
    (claim,) = _race(platform, a, claimers=3)  # the two other messages park two chunks
    platform.queue.huey.flush()  # and the chunks' own messages are gone
    platform.runner.run_chunk(a, claim.index, claimed=claim.token)  # no wake-up follows
    redelivered = reap(platform.sessions, platform.queue, platform.settings)
    assert sorted(redelivered.chunks) == sorted((a, i) for i in range(3) if i != claim.index)
    _drain(platform)
    assert get_job(platform, a).state == "succeeded"
    assert {(c.state, c.attempts) for c in _chunks(platform, a)} == {("done", 1)}


@pytest.mark.slow
def test_two_worker_processes_run_every_chunk_once_within_the_limit(
    settings_for: Callable[..., Settings], redis_url: str, redis_prefix: str, tmp_path: Path
) -> None:
    limits = {"standard": {"concurrency": 1}}
    settings = settings_for(job_chunk_rows=CHUNK_ROWS, plan_limits=limits)
    if not settings.database_url.startswith("sqlite"):  # the scale-out pairing
        settings = settings_for(
            job_chunk_rows=CHUNK_ROWS,
            plan_limits=limits,
            queue="redis",
            redis_url=redis_url,
            queue_name=redis_prefix,
        )
    platform = Platform.build(settings)
    try:
        a, _ = generation_job(platform, rows=12 * CHUNK_ROWS)
        b, _ = generation_job(platform, rows=3 * CHUNK_ROWS)
        env = worker_env(
            settings,
            SYNTHDATA_JOB_CHUNK_ROWS=str(CHUNK_ROWS),
            SYNTHDATA_PLAN_LIMITS=json.dumps(limits),
        )
        log = (tmp_path / "workers.log").open("ab")
        workers = [
            subprocess.Popen(
                [sys.executable, "-m", "synthdata", "worker", "--metrics-port", "0"],
                env=env,
                stdout=log,
                stderr=log,
            )
            for _ in range(2)
        ]
        try:
            platform.queue.send_prepare(a)
            platform.queue.send_prepare(b)
            most = [0]

            def finished() -> bool:
                dead = [w.args for w in workers if w.poll() is not None]
                assert not dead, (tmp_path / "workers.log").read_text()[-3000:]
                with session_scope(platform.sessions) as session:
                    for job_id in (a, b):  # sampled: never more than the plan allows
                        running = session.scalars(
                            select(JobChunk.id).where(
                                JobChunk.job_id == job_id,
                                JobChunk.state == "running",
                                JobChunk.lease_until > utcnow(),
                            )
                        ).all()
                        most[0] = max(most[0], len(running))
                return all(get_job(platform, j).state == "succeeded" for j in (a, b))

            wait_for(finished, "both jobs to finish")
        finally:
            for worker in workers:
                worker.send_signal(signal.SIGTERM)
            for worker in workers:
                worker.wait(timeout=60)
            log.close()
        assert most[0] <= 1
        chunks = _chunks(platform, a, b)
        assert len(chunks) == 15
        assert {(c.state, c.attempts) for c in chunks} == {("done", 1)}  # none lost, none twice
        with session_scope(platform.sessions) as session:
            charged = session.scalars(select(Charge.job_id)).all()
        assert sorted(charged) == sorted([a, b])
    finally:
        platform.stop()
