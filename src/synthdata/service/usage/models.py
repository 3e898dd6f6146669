"""Charges (one per succeeded generation job) and the usage summary."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel
from sqlalchemy import BigInteger, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from synthdata.service.core.db import Base, UTCDateTime, new_id, utcnow


class Charge(Base):
    """What a succeeded job cost; `job_id` is unique so a re-run can never charge twice."""

    __tablename__ = "charges"

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("chg"))
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), unique=True)
    customer_id: Mapped[str] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    rows: Mapped[int] = mapped_column(BigInteger)
    amount_micros: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class UsageLine(BaseModel):
    """Usage of one customer in one currency."""

    customer_id: str
    currency: str
    jobs: int
    rows: int
    cost: Decimal


class UsageOut(BaseModel):
    """Rows generated and their cost over a period."""

    since: datetime | None
    until: datetime | None
    lines: list[UsageLine]
