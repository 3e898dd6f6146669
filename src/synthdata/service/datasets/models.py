"""Uploaded tables: the table and its API models."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import JSON, BigInteger, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from synthdata.service.core.db import Base, UTCDateTime, new_id, utcnow


class Dataset(Base):
    """A customer's uploaded table, stored under the data directory."""

    __tablename__ = "datasets"

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("ds"))
    customer_id: Mapped[str] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    filename: Mapped[str] = mapped_column(String(255))
    format: Mapped[str] = mapped_column(String(16))
    path: Mapped[str] = mapped_column(String(500))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    rows: Mapped[int] = mapped_column(BigInteger)
    columns: Mapped[int] = mapped_column()
    schema_json: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DatasetSummary(BaseModel):
    """A dataset as lists show it: without its schema (up to thousands of columns)."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    customer_id: str
    name: str
    filename: str
    format: str
    size_bytes: int
    rows: int
    columns: int
    created_at: datetime


class DatasetOut(DatasetSummary):
    """A dataset with its inferred schema."""

    schema_: dict[str, Any] = Field(serialization_alias="schema")

    @classmethod
    def of(cls, row: Dataset) -> DatasetOut:
        data = {k: getattr(row, k) for k in cls.model_fields if k != "schema_"}
        return cls(**data, schema_=row.schema_json)
