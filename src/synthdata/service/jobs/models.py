"""Generation job requests and responses (the tables are in `synthdata.jobs.models`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from synthdata.engine.base import DEFAULT_SYNTHESIZER
from synthdata.jobs.models import Job, JobKind, JobState
from synthdata.service.models.models import CONSTRAINTS_DESCRIPTION, ConstraintValue

MAX_SEED = 2**63 - 1


Scalar = str | float | bool | None


class ConditionRange(BaseModel):
    """A range of numbers or date-times; a missing end is open."""

    model_config = ConfigDict(extra="forbid")

    min: float | str | None = None
    max: float | str | None = None


ConditionValue = Scalar | list[Scalar] | ConditionRange


class JobCreate(BaseModel):
    """Generate `rows` rows from a trained model, or from a dataset (fitted first)."""

    model_config = ConfigDict(extra="forbid")

    dataset_id: str | None = Field(default=None, min_length=1, max_length=40)
    model_id: str | None = Field(default=None, min_length=1, max_length=40)
    rows: int = Field(ge=1, description="Rows to generate.")
    synthesizer: str = Field(
        default=DEFAULT_SYNTHESIZER,
        min_length=1,
        max_length=40,
        description="Used with dataset_id only.",
    )
    format: Literal["csv", "parquet"] = "csv"
    seed: int | None = Field(
        default=None, ge=0, le=MAX_SEED, description="Same seed, same rows (default: random)."
    )
    conditions: dict[str, ConditionValue] | None = Field(
        default=None,
        max_length=100,
        description="What every row must meet, by column: a value, a list of values (any "
        'of them), {"min": ..., "max": ...} for numbers and dates, or null.',
    )
    constraints: list[ConstraintValue] | None = Field(
        default=None, max_length=100, description=CONSTRAINTS_DESCRIPTION + " With dataset_id."
    )

    @model_validator(mode="after")
    def _one_source(self) -> JobCreate:
        if (self.dataset_id is None) == (self.model_id is None):
            raise ValueError("give exactly one of dataset_id or model_id")
        if self.constraints and self.model_id is not None:
            raise ValueError("constraints are fitted into a model: give them with dataset_id")
        return self


class JobOut(BaseModel):
    """A job's request, state, progress and timings."""

    id: str
    customer_id: str
    kind: JobKind
    state: JobState
    dataset_id: str | None
    model_id: str | None
    rows: int
    synthesizer: str
    format: str
    seed: int
    conditions: dict[str, Any] | None
    constraints: list[Any] | None = None
    idempotency_key: str | None
    rows_done: int
    progress: float = Field(description="0..1")
    chunks_total: int
    chunks_done: int
    attempts: int
    error: str | None
    result_bytes: int | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @classmethod
    def of(cls, job: Job) -> JobOut:
        if job.state == JobState.SUCCEEDED.value:
            progress = 1.0
        elif job.rows:
            progress = min(1.0, job.rows_done / job.rows)
        else:
            progress = 0.0
        fields = {k: getattr(job, k) for k in cls.model_fields if k != "progress"}
        return cls(**fields, progress=round(progress, 4))
