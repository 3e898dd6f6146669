"""Customers and API keys (admin only), and `GET /me` for any caller."""

from __future__ import annotations

from fastapi import APIRouter, Request, status
from sqlalchemy import select
from sqlalchemy.orm import Session

from synthdata.service.admin.service import audit
from synthdata.service.core.pagination import Page, paginate
from synthdata.service.core.problems import PROBLEM_RESPONSES, not_found
from synthdata.service.customers import service
from synthdata.service.customers.models import (
    ApiKey,
    Customer,
    CustomerCreate,
    CustomerOut,
    KeyCreate,
    KeyCreated,
    KeyOut,
    Me,
)
from synthdata.service.deps import (
    AdminDep,
    Cursor,
    Limit,
    PlatformDep,
    PrincipalDep,
    SessionDep,
    source_address,
)

router = APIRouter(tags=["customers"], responses=PROBLEM_RESPONSES)


@router.get("/me", response_model=Me)
async def who_am_i(principal: PrincipalDep, platform: PlatformDep) -> Me:
    """The caller's key, role and customer."""

    def load(session: Session) -> Me:
        customer = session.get(Customer, principal.customer_id) if principal.customer_id else None
        return Me(
            key_id=principal.key_id,
            role=principal.role,
            customer=CustomerOut.of(customer) if customer else None,
        )

    return await platform.read(load)


@router.post("/customers", response_model=CustomerOut, status_code=status.HTTP_201_CREATED)
def create_customer(
    body: CustomerCreate, admin: AdminDep, session: SessionDep, request: Request
) -> CustomerOut:
    """Create a customer (then give it a key with `POST /customers/{id}/keys`)."""
    customer = service.create_customer(session, body)
    audit(
        session,
        actor=admin.actor,
        action="customer.create",
        target=customer.id,
        source=source_address(request),
        detail={"name": body.name, "plan": body.plan},
    )
    session.commit()
    return CustomerOut.of(customer)


@router.get("/customers", response_model=Page[CustomerOut])
def list_customers(
    _: AdminDep, session: SessionDep, limit: Limit = 50, cursor: Cursor = None
) -> Page[CustomerOut]:
    """All customers, newest first."""
    return paginate(
        session, select(Customer), Customer.id, limit=limit, cursor=cursor, render=CustomerOut.of
    )


@router.get("/customers/{customer_id}", response_model=CustomerOut)
def get_customer(customer_id: str, _: AdminDep, session: SessionDep) -> CustomerOut:
    """One customer."""
    customer = session.get(Customer, customer_id)
    if customer is None:
        raise not_found("customer", customer_id)
    return CustomerOut.of(customer)


@router.post(
    "/customers/{customer_id}/keys",
    response_model=KeyCreated,
    status_code=status.HTTP_201_CREATED,
)
def create_key(
    customer_id: str, body: KeyCreate, admin: AdminDep, session: SessionDep, request: Request
) -> KeyCreated:
    """Create a key for a customer. The secret is in this response only: store it now."""
    if session.get(Customer, customer_id) is None:
        raise not_found("customer", customer_id)
    key, secret = service.create_key(session, customer_id, body)
    audit(
        session,
        actor=admin.actor,
        action="api_key.create",
        target=key.id,
        source=source_address(request),
        detail={"customer_id": customer_id, "role": body.role.value},
    )
    session.commit()
    return KeyCreated(**KeyOut.model_validate(key).model_dump(), secret=secret)


@router.get("/customers/{customer_id}/keys", response_model=list[KeyOut])
def list_keys(customer_id: str, _: AdminDep, session: SessionDep) -> list[KeyOut]:
    """A customer's keys, with prefixes (never secrets)."""
    if session.get(Customer, customer_id) is None:
        raise not_found("customer", customer_id)
    return [KeyOut.model_validate(k) for k in service.list_keys(session, customer_id)]


@router.post("/keys/{key_id}/revoke", response_model=KeyOut)
def revoke_key(key_id: str, admin: AdminDep, session: SessionDep, request: Request) -> KeyOut:
    """Revoke a key; it stops working at once here, and within seconds on every replica."""
    key = session.get(ApiKey, key_id)
    if key is None:
        raise not_found("API key", key_id)
    service.revoke_key(session, key)
    audit(
        session,
        actor=admin.actor,
        action="api_key.revoke",
        target=key.id,
        source=source_address(request),
        detail={"customer_id": key.customer_id},
    )
    session.commit()
    request.app.state.platform.key_cache.forget_key(key.id)
    return KeyOut.model_validate(key)
