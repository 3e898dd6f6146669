"""Trained models: the table and its API models."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, Field
from sqlalchemy import JSON, BigInteger, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from synthdata.engine.base import DEFAULT_SYNTHESIZER, list_synthesizers
from synthdata.engine.constraints import constraint_types
from synthdata.engine.registry import can_save
from synthdata.service.core.db import Base, UTCDateTime, new_id, utcnow
from synthdata.service.core.inputs import RequestModel


class ModelState(StrEnum):
    """A model is trained by a job; it can be sampled once ready."""

    TRAINING = "training"
    READY = "ready"
    FAILED = "failed"


class SynthModel(Base):
    """A synthesizer fitted on one of the customer's datasets."""

    __tablename__ = "models"

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("mdl"))
    customer_id: Mapped[str] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    dataset_id: Mapped[str | None] = mapped_column(
        ForeignKey("datasets.id", ondelete="SET NULL"), index=True
    )
    name: Mapped[str] = mapped_column(String(200), default="")
    synthesizer: Mapped[str] = mapped_column(String(40))
    state: Mapped[str] = mapped_column(String(16), default=ModelState.TRAINING.value)
    path: Mapped[str | None] = mapped_column(String(500))
    size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    fitted_rows: Mapped[int | None] = mapped_column(BigInteger)
    schema_json: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ready_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


def usable_synthesizers() -> list[str]:
    """The synthesizers a job can run: known, and their models can be saved."""
    return [name for name in list_synthesizers() if can_save(name)]


def list_usable_synthesizers(schema: dict[str, Any]) -> None:
    """JSON Schema of a `synthesizer` field: the names the service accepts (built when
    the OpenAPI document is, not at import: naming them imports their modules)."""
    schema["enum"] = usable_synthesizers()


def _constraint_mapping_schema(schema: dict[str, Any]) -> None:
    schema.update(
        required=["type"], properties={"type": {"type": "string", "enum": constraint_types()}}
    )


ConstraintMapping = Annotated[dict[str, Any], Field(json_schema_extra=_constraint_mapping_schema)]
ConstraintValue = ConstraintMapping | str
"""A constraint as `engine.constraints` declares it: a mapping with a `type`, or a rule."""
CONSTRAINTS_DESCRIPTION = (
    "Constraints every row meets, fitted into the model: mappings such as "
    '{"type": "inequality", "low": "start", "high": "end"} or rules such as '
    '"age >= 18" (docs/engine.md lists the types).'
)


class ModelCreate(RequestModel):
    """Train a model on a dataset."""

    dataset_id: str = Field(min_length=1, max_length=40)
    synthesizer: str = Field(
        default=DEFAULT_SYNTHESIZER,
        min_length=1,
        max_length=40,
        json_schema_extra=list_usable_synthesizers,
    )
    name: str = Field(default="", max_length=200)
    constraints: list[ConstraintValue] | None = Field(
        default=None, max_length=100, description=CONSTRAINTS_DESCRIPTION
    )


class ModelOut(BaseModel):
    """A model and its training state."""

    id: str
    customer_id: str
    dataset_id: str | None
    name: str
    synthesizer: str
    state: ModelState
    size_bytes: int | None
    fitted_rows: int | None
    schema_: dict[str, Any] | None = Field(serialization_alias="schema")
    error: str | None
    created_at: datetime
    ready_at: datetime | None
    job_id: str | None = None

    @classmethod
    def of(cls, row: SynthModel, job_id: str | None = None) -> ModelOut:
        data = {k: getattr(row, k) for k in cls.model_fields if k not in ("schema_", "job_id")}
        return cls(**data, schema_=row.schema_json, job_id=job_id)
