"""Component health: the readiness checks, the job workers and the circuit breaker.

The page is public, so a failing part is described in plain words of our own: the
readiness check's exception text can carry host names or connection strings.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from synthdata.jobs.models import ChunkState, Job, JobChunk, JobState
from synthdata.service.admin.service import get_breaker
from synthdata.service.core.settings import Settings
from synthdata.service.jobs.service import API_SERVICE
from synthdata.service.status.models import Component, ComponentState

WAIT_THRESHOLD = timedelta(minutes=10)
"""A job queued longer than this without a worker taking it makes the workers degraded."""

RECENT = timedelta(minutes=15)
"""A job started or finished within this counts as workers having run recently."""

_NEWEST_JOBS = 200
"""How many of the newest jobs are looked at for recent activity (see `read_activity`)."""

# (readiness check, component name, what a failure means to a user)
_PARTS = (
    ("database", "Database", "The service cannot reach its database"),
    ("queue", "Job queue", "New jobs cannot be queued or picked up"),
    ("storage", "File storage", "Uploads and results cannot be stored"),
)


def readiness_components(checks: dict[str, str]) -> list[Component]:
    """Database, queue and storage from `Platform.readiness()` ("ok" or a failure)."""
    return [
        Component(name=name, state=ComponentState.OPERATIONAL, reason="Responding normally")
        if checks.get(check) == "ok"
        else Component(name=name, state=ComponentState.OUTAGE, reason=failure)
        for check, name, failure in _PARTS
    ]


@dataclass(frozen=True)
class WorkerActivity:
    """What the jobs table says about the workers."""

    waiting: int
    oldest_waiting_since: datetime | None
    working_now: bool
    last_activity: datetime | None


def read_activity(session: Session, now: datetime) -> WorkerActivity:
    """Queued jobs, live leases and the latest start or finish, through indexed reads."""
    waiting, oldest = session.execute(
        select(func.count(), func.min(Job.created_at)).where(Job.state == JobState.QUEUED.value)
    ).one()
    # A live lease is renewed by a worker's heartbeat: somebody is working right now.
    live_job = select(Job.id).where(Job.state == JobState.RUNNING.value, Job.lease_until > now)
    live_chunk = select(JobChunk.id).where(
        JobChunk.state == ChunkState.RUNNING.value, JobChunk.lease_until > now
    )
    working_now = bool(
        session.scalar(select(live_job.exists())) or session.scalar(select(live_chunk.exists()))
    )
    # Ids start with their creation time, so the newest jobs are an index read; a job
    # that started or finished lately was created lately (scanning every job is not).
    newest = select(Job.started_at, Job.finished_at).order_by(Job.id.desc()).limit(_NEWEST_JOBS)
    latest = newest.subquery()
    started, finished = session.execute(
        select(func.max(latest.c.started_at), func.max(latest.c.finished_at))
    ).one()
    moments = [moment for moment in (started, finished) if moment is not None]
    return WorkerActivity(int(waiting), oldest, working_now, max(moments, default=None))


def workers_component(activity: WorkerActivity, now: datetime) -> Component:
    """Degraded when the oldest queued job has waited past `WAIT_THRESHOLD`."""
    ran_recently = activity.working_now or (
        activity.last_activity is not None and now - activity.last_activity <= RECENT
    )
    name = "Job workers"
    if activity.oldest_waiting_since is not None:
        waited = now - activity.oldest_waiting_since
        if waited > WAIT_THRESHOLD:
            reason = (
                f"Busy: new jobs wait about {describe_duration(waited)} to start"
                if ran_recently
                else f"Jobs are not being picked up (oldest waiting {describe_duration(waited)})"
            )
            return Component(name=name, state=ComponentState.DEGRADED, reason=reason)
        plural = "s" if activity.waiting != 1 else ""
        reason = f"{activity.waiting} job{plural} waiting, picked up normally"
        return Component(name=name, state=ComponentState.OPERATIONAL, reason=reason)
    reason = "Running jobs" if activity.working_now else "Idle: no jobs waiting"
    return Component(name=name, state=ComponentState.OPERATIONAL, reason=reason)


def breaker_component(session: Session, settings: Settings) -> Component:
    """The API's circuit breaker: on means new jobs are refused for now."""
    breaker = get_breaker(session, API_SERVICE, settings.circuit_breaker_retry_after)
    # The operator's reason stays internal: it is free text written for colleagues.
    if breaker.enabled:
        return Component(name="New jobs", state=ComponentState.DEGRADED, reason="New jobs paused")
    return Component(name="New jobs", state=ComponentState.OPERATIONAL, reason="Accepting new jobs")


def unknown_components(why: str) -> list[Component]:
    """Workers and job intake when their facts cannot be read."""
    return [
        Component(name=name, state=ComponentState.DEGRADED, reason=why)
        for name in ("Job workers", "New jobs")
    ]


def describe_duration(delta: timedelta) -> str:
    """`delta` in words a reader takes in at a glance: "45 s", "12 min", "3 h", "2 days"."""
    seconds = max(int(delta.total_seconds()), 0)
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 2 * 86400:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} days"
