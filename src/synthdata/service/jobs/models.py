"""Generation job requests and responses (the tables are in `synthdata.jobs.models`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from synthdata.engine.base import DEFAULT_SYNTHESIZER
from synthdata.jobs.models import Job, JobKind, JobState
from synthdata.service.core.inputs import INTEGRAL, RequestModel
from synthdata.service.models.models import (
    CONSTRAINTS_DESCRIPTION,
    ConstraintValue,
    list_usable_synthesizers,
)

# Exact as a JSON number everywhere (JavaScript, and fuzzers that read bounds as floats),
# as the random seeds the service picks are (jobs/service.py).
MAX_SEED = 2**53 - 1
# A dataset of linked tables is generated at a scale of its real rows, not a row count.
MAX_SCALE = 1000.0


Scalar = str | float | bool | None


class ConditionRange(RequestModel):
    """A range of numbers or date-times; a missing end is open."""

    min: float | str | None = None
    max: float | str | None = None


ConditionValue = Scalar | list[Scalar] | ConditionRange

# `_one_source` below, as JSON Schema: a client (or a fuzzer) reading the document
# learns that exactly one of dataset_id and model_id is given, constraints and scale
# only with a dataset (a model needs rows), and never rows and scale together.
_ONE_SOURCE: dict[str, Any] = {
    "not": {
        "required": ["rows", "scale"],
        "properties": {"rows": {"type": "integer"}, "scale": {"type": "number"}},
    },
    "oneOf": [
        {
            "required": ["dataset_id"],
            "properties": {"dataset_id": {"type": "string"}, "model_id": {"type": "null"}},
        },
        {
            "required": ["model_id", "rows"],
            "properties": {
                "model_id": {"type": "string"},
                "rows": {"type": "integer"},
                "dataset_id": {"type": "null"},
                "constraints": {"anyOf": [{"type": "null"}, {"type": "array", "maxItems": 0}]},
                "scale": {"type": "null"},
            },
        },
    ],
}


class JobCreate(RequestModel):
    """Generate `rows` rows from a trained model, or from a dataset (fitted first); from
    a dataset of linked tables, `scale` times the rows of each table (a zip of tables)."""

    model_config = ConfigDict(json_schema_extra=_ONE_SOURCE)

    dataset_id: str | None = Field(default=None, min_length=1, max_length=40)
    model_id: str | None = Field(default=None, min_length=1, max_length=40)
    rows: Annotated[int, Field(ge=1), INTEGRAL] | None = Field(
        default=None,
        description="Rows to generate: required with model_id; from a dataset of one "
        "table, default its real rows times scale; not for linked tables.",
    )
    scale: Annotated[float, Field(gt=0, le=MAX_SCALE, allow_inf_nan=False)] | None = Field(
        default=None,
        description="With dataset_id, instead of rows (default 1): this many times the real "
        "rows, of every table for linked tables (0.1: a tenth).",
    )
    synthesizer: str = Field(
        default=DEFAULT_SYNTHESIZER,
        min_length=1,
        max_length=40,
        description="Used with dataset_id only.",
        json_schema_extra=list_usable_synthesizers,
    )
    format: Literal["csv", "parquet"] = "csv"
    # Bounds inside the optional type, so the schema's `anyOf` carries them.
    seed: Annotated[int, Field(ge=0, le=MAX_SEED), INTEGRAL] | None = Field(
        default=None, description="Same seed, same rows (default: random)."
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
        if self.rows is not None and self.scale is not None:
            raise ValueError("give rows (one table) or scale (linked tables), not both")
        if self.model_id is not None and (self.scale is not None or self.rows is None):
            raise ValueError("give rows with model_id (scale goes with linked tables' dataset_id)")
        return self


class JobOut(BaseModel):
    """A job's request, state, progress and timings."""

    id: str
    customer_id: str
    kind: JobKind
    state: JobState
    dataset_id: str | None
    model_id: str | None
    rows: int = Field(description="Rows to write (linked tables: an estimate until done).")
    scale: float | None = Field(default=None, description="Linked tables: the scale asked.")
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


class ResultPart(BaseModel):
    """One part of a result, as the manifest lists it, with a URL to fetch it."""

    index: int
    rows: int
    bytes: int
    sha256: str | None = Field(
        description="Hex SHA-256 of the part's bytes (null for a result stored as one "
        "file before parts had checksums)."
    )
    url: str = Field(
        description="A presigned URL of the object store, or this API's "
        "`/api/v1/jobs/{id}/result/parts/{index}` (send your API key)."
    )


class ResultParts(BaseModel):
    """The parts of a result (`GET /jobs/{id}/result?parts=true`), in row order."""

    format: str
    rows: int
    parts: list[ResultPart]
