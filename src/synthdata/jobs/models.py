"""The job tables: one row per job, one row per row-range chunk of a generation job.

A job moves queued -> running -> succeeded | failed | cancelled. Its phases are
"prepare" (fit the model if needed, plan the chunks), the chunks (any worker may
run any chunk) and "finalize" (write the manifest, record the charge). Each phase is
claimed with a lease (`lease_until` + `claim_token`) that its worker renews; a
lease that runs out means the worker died, and the reaper hands the work on.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, Float, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from synthdata.engine.base import DEFAULT_SYNTHESIZER
from synthdata.service.core.db import Base, UTCDateTime, new_id, utcnow


class JobState(StrEnum):
    """Where a job is; the last three are final."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


ACTIVE_STATES = (JobState.QUEUED.value, JobState.RUNNING.value)


class JobKind(StrEnum):
    """Generate rows (charged per row), or train a model for later generation."""

    GENERATE = "generate"
    TRAIN = "train"


class ChunkState(StrEnum):
    """Where one row range of a generation job is."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    CANCELLED = "cancelled"


class Job(Base):
    """A unit of asynchronous work requested by a customer."""

    __tablename__ = "jobs"
    __table_args__ = (
        UniqueConstraint("customer_id", "idempotency_key"),
        Index("ix_jobs_state_lease", "state", "lease_until"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("job"))
    customer_id: Mapped[str] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16), default=JobKind.GENERATE.value)
    state: Mapped[str] = mapped_column(String(16), default=JobState.QUEUED.value)
    dataset_id: Mapped[str | None] = mapped_column(ForeignKey("datasets.id", ondelete="SET NULL"))
    model_id: Mapped[str | None] = mapped_column(ForeignKey("models.id", ondelete="SET NULL"))
    rows: Mapped[int] = mapped_column(BigInteger, default=0)
    # A job on a dataset of linked tables: each table's rows times this, run as one unit
    # (no chunks); `rows` is then the estimate, set to the rows written when it succeeds.
    scale: Mapped[float | None] = mapped_column(Float, nullable=True)
    synthesizer: Mapped[str] = mapped_column(String(40), default=DEFAULT_SYNTHESIZER)
    format: Mapped[str] = mapped_column(String(16), default="csv")
    seed: Mapped[int] = mapped_column(BigInteger)
    # What every row must meet, as the API received it (see service.jobs.conditions).
    conditions: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    # Constraints the fitted model keeps in every row (see engine.constraints).
    constraints: Mapped[list[Any] | None] = mapped_column(JSON, nullable=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(255))
    request_hash: Mapped[str | None] = mapped_column(String(64))
    rows_done: Mapped[int] = mapped_column(BigInteger, default=0)
    chunks_total: Mapped[int] = mapped_column(default=0)
    chunks_done: Mapped[int] = mapped_column(default=0)
    attempts: Mapped[int] = mapped_column(default=0)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claim_token: Mapped[str | None] = mapped_column(String(32))
    enqueued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[str | None] = mapped_column(Text)
    result_path: Mapped[str | None] = mapped_column(String(500))
    result_bytes: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Where the job came from: the creating request's X-Request-ID and W3C trace
    # context, so the worker's log lines and spans join that request's (telemetry.py).
    request_id: Mapped[str | None] = mapped_column(String(64))
    trace_context: Mapped[dict[str, str] | None] = mapped_column(JSON)


class JobChunk(Base):
    """Rows [start_row, start_row + rows) of a generation job, written to one part file."""

    __tablename__ = "job_chunks"
    __table_args__ = (
        UniqueConstraint("job_id", "index"),
        Index("ix_job_chunks_state_lease", "state", "lease_until"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    index: Mapped[int] = mapped_column()
    start_row: Mapped[int] = mapped_column(BigInteger)
    rows: Mapped[int] = mapped_column(BigInteger)
    state: Mapped[str] = mapped_column(String(16), default=ChunkState.QUEUED.value)
    rows_done: Mapped[int] = mapped_column(BigInteger, default=0)
    attempts: Mapped[int] = mapped_column(default=0)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claim_token: Mapped[str | None] = mapped_column(String(32))
    enqueued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The part this chunk wrote, recorded with its completion: the manifest's entry.
    part_bytes: Mapped[int | None] = mapped_column(BigInteger)
    part_sha256: Mapped[str | None] = mapped_column(String(64))
