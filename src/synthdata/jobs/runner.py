"""Executing job messages: prepare (fit, plan chunks), run a chunk, finalize.

Each step claims its row with a lease, works while a heartbeat renews it, and
records its outcome only if it still holds the lease. Effects are idempotent:
files go to deterministic paths atomically, and the charge is unique per job.

Every step lives in its own module: `runner_base` (leases, failure, retries),
`runner_prepare` (fit and plan) and `runner_chunks` (chunks and finalize).
"""

from __future__ import annotations

from synthdata.jobs.runner_base import UserFacingError
from synthdata.jobs.runner_chunks import ChunkSteps
from synthdata.jobs.runner_prepare import PrepareSteps

__all__ = ["JobRunner", "UserFacingError"]


class JobRunner(PrepareSteps, ChunkSteps):
    """Runs the three kinds of job message against the database and the storage."""
