"""Customers and API keys: creation, listing, revocation, and checking a presented key."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from synthdata.service.core.db import utcnow
from synthdata.service.customers.models import (
    ApiKey,
    Customer,
    CustomerCreate,
    KeyCreate,
    Role,
    decimal_to_micros,
)

KEY_PREFIX = "sdk_"
PREFIX_SHOWN = 12


def hash_secret(secret: str) -> str:
    """SHA-256 of a key secret (keys are 256-bit random, so a plain hash is enough)."""
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class Principal:
    """The caller behind a valid key."""

    key_id: str
    role: Role
    customer_id: str | None

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def actor(self) -> str:
        """How the audit log names this caller."""
        return f"key:{self.key_id}"


def create_customer(session: Session, data: CustomerCreate) -> Customer:
    """Add a customer."""
    customer = Customer(
        name=data.name,
        plan=data.plan,
        price_per_1k_micros=decimal_to_micros(data.price_per_1k_rows),
        currency=data.currency,
    )
    session.add(customer)
    session.flush()
    return customer


def list_customers(session: Session, *, limit: int, after: str | None) -> list[Customer]:
    """Customers in creation order, `limit` at a time after the cursor id `after`."""
    query = select(Customer).order_by(Customer.id).limit(limit)
    if after:
        query = query.where(Customer.id > after)
    return list(session.scalars(query))


def create_key(session: Session, customer_id: str | None, data: KeyCreate) -> tuple[ApiKey, str]:
    """Create a key; return it with its secret, which is not stored and cannot be shown again."""
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(
        customer_id=customer_id,
        name=data.name,
        prefix=secret[:PREFIX_SHOWN],
        secret_hash=hash_secret(secret),
        role=data.role.value,
    )
    session.add(key)
    session.flush()
    return key, secret


def list_keys(session: Session, customer_id: str | None) -> list[ApiKey]:
    """Keys of a customer (or, with None, the platform admin keys without a customer)."""
    query = select(ApiKey).order_by(ApiKey.id)
    if customer_id is None:
        query = query.where(ApiKey.customer_id.is_(None))
    else:
        query = query.where(ApiKey.customer_id == customer_id)
    return list(session.scalars(query))


def revoke_key(session: Session, key: ApiKey) -> ApiKey:
    """Revoke a key (idempotent: the first revocation time is kept)."""
    if key.revoked_at is None:
        key.revoked_at = utcnow()
    return key


def authenticate(session: Session, secret: str) -> Principal | None:
    """The principal of a presented secret, or None if it is unknown or revoked."""
    principal, _ = authenticate_with_reason(session, secret)
    return principal


def key_by_hash(secret_hash: str) -> Select[ApiKey]:
    """The key lookup every authenticated request makes (also planned by `ops optimize-queries`)."""
    return select(ApiKey).where(ApiKey.secret_hash == secret_hash)


def authenticate_with_reason(session: Session, secret: str) -> tuple[Principal | None, str]:
    """(principal, "") for a valid secret, else (None, "unknown" or "revoked")."""
    if not secret.startswith(KEY_PREFIX) or len(secret) > 200:
        return None, "unknown"
    key = session.scalars(key_by_hash(hash_secret(secret))).first()
    if key is None:
        return None, "unknown"
    if key.revoked_at is not None:
        return None, "revoked"
    return Principal(key.id, Role(key.role), key.customer_id), ""
