"""What the job machinery tells Prometheus: attempts, chunks done, outcomes, durations, revenue.

Counted where the job's state changes in the database, so a job re-run after a
crash counts one more attempt but only one success and one charge.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from synthdata.jobs.models import Job, JobKind
from synthdata.observability import metrics
from synthdata.service.customers.models import micros_to_decimal
from synthdata.service.datasets.models import Dataset
from synthdata.service.models.models import SynthModel
from synthdata.service.usage.models import Charge


def generation_started(job: Job) -> None:
    """A generation job began running (an attempt)."""
    metrics.generation_total.labels(job.synthesizer).inc()


def chunk_completed(synthesizer: str) -> None:
    """A chunk of a generation job was committed done: progress, even mid-job."""
    metrics.generation_chunks_completed_total.labels(synthesizer).inc()


def generation_failed(kind: str, synthesizer: str) -> None:
    """A job's failure was committed; generation jobs count against the success rate."""
    if kind == JobKind.GENERATE.value:
        metrics.generation_failures_total.labels(synthesizer).inc()


@dataclass(frozen=True)
class Outcome:
    """What a success needs to report, read inside the job's final transaction."""

    data_bytes: int  # the larger of the table read and the file written: what the job handled
    currency: str | None
    amount_micros: int


def outcome(session: Session, job: Job, charge: Charge | None, result_bytes: int = 0) -> Outcome:
    """Collect the outcome while the session is open (the ORM rows expire on commit).

    The size class is that of the larger of the input table and the result file: a
    100-million-row job learned from a 20 kB table is a large job, and the runbook's
    30-second baseline for small datasets would page on every healthy one.
    """
    return Outcome(
        max(input_bytes(session, job), result_bytes),
        charge.currency if charge is not None else None,
        charge.amount_micros if charge is not None else 0,
    )


def generation_succeeded(job: Job, result: Outcome) -> None:
    """A generation job's success (and its charge) was committed."""
    metrics.generation_success_total.labels(job.synthesizer).inc()
    started = job.started_at or job.created_at
    if started is not None:
        seconds = (datetime.now(UTC) - _aware(started)).total_seconds()
        metrics.generation_duration_seconds.labels(
            job.synthesizer, metrics.size_class(result.data_bytes)
        ).observe(max(seconds, 0.0))
    if result.currency is not None:
        metrics.revenue_generated_total.labels(result.currency).inc(
            float(micros_to_decimal(result.amount_micros))
        )


def input_bytes(session: Session, job: Job) -> int:
    """Size of the table the job learns from (its dataset, or its model's dataset)."""
    dataset_id = job.dataset_id
    if dataset_id is None and job.model_id is not None:
        model = session.get(SynthModel, job.model_id)
        dataset_id = model.dataset_id if model is not None else None
    dataset = session.get(Dataset, dataset_id) if dataset_id else None
    return int(dataset.size_bytes) if dataset is not None else 0


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
