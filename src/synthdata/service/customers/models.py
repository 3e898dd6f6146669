"""Customers and their API keys: tables and request/response models."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, Strict
from sqlalchemy import BigInteger, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from synthdata.service.core.db import Base, UTCDateTime, new_id, utcnow
from synthdata.service.core.inputs import PriceText, RequestModel


class Role(StrEnum):
    """What a key may do: act for its customer, or administer the platform."""

    CUSTOMER = "customer"
    ADMIN = "admin"


class Customer(Base):
    """A paying tenant; every dataset, model and job belongs to exactly one."""

    __tablename__ = "customers"

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("cus"))
    name: Mapped[str] = mapped_column(String(200))
    plan: Mapped[str] = mapped_column(String(40), default="standard")
    # Money in millionths of the currency unit: exact, and portable across databases.
    price_per_1k_micros: Mapped[int] = mapped_column(BigInteger, default=0)
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ApiKey(Base):
    """An API key; only the SHA-256 of the secret is stored, the prefix identifies it."""

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("key"))
    customer_id: Mapped[str | None] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200), default="")
    prefix: Mapped[str] = mapped_column(String(16))
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16), default=Role.CUSTOMER.value)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Refreshed at most once a minute per process; read by the active-users gauge.
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)


def micros_to_decimal(micros: int) -> Decimal:
    """Millionths to a Decimal amount (e.g. 1_500_000 -> 1.5)."""
    return (Decimal(micros) / Decimal(1_000_000)).normalize() + Decimal("0.00")


def decimal_to_micros(amount: Decimal) -> int:
    """A Decimal amount to whole millionths (rounded half-up)."""
    return int((amount * 1_000_000).to_integral_value(rounding="ROUND_HALF_UP"))


# -- API models -------------------------------------------------------------------------
class CustomerCreate(RequestModel):
    """A new customer."""

    name: str = Field(min_length=1, max_length=200)
    plan: str = Field(default="standard", min_length=1, max_length=40)
    price_per_1k_rows: PriceText = Field(
        default=Decimal(0),
        ge=0,
        le=1_000_000,
        decimal_places=6,
        description='A decimal string, e.g. "0.50".',
    )
    currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")


class CustomerOut(BaseModel):
    """A customer as shown to admins."""

    id: str
    name: str
    plan: str
    price_per_1k_rows: Decimal
    currency: str
    created_at: datetime

    @classmethod
    def of(cls, row: Customer) -> CustomerOut:
        return cls(
            id=row.id,
            name=row.name,
            plan=row.plan,
            price_per_1k_rows=micros_to_decimal(row.price_per_1k_micros),
            currency=row.currency,
            created_at=row.created_at,
        )


class KeyCreate(RequestModel):
    """A new API key for a customer."""

    name: str = Field(default="", max_length=200)
    role: Annotated[Role, Strict(False)] = Role.CUSTOMER


class KeyOut(BaseModel):
    """A key as listed: never the secret."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    customer_id: str | None
    name: str
    prefix: str
    role: Role
    created_at: datetime
    revoked_at: datetime | None


class KeyCreated(KeyOut):
    """A key just created: the secret appears here once and is never stored."""

    secret: str


class Me(BaseModel):
    """Who the caller is."""

    key_id: str
    role: Role
    customer: CustomerOut | None
