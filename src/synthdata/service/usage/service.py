"""Charging succeeded jobs and summing usage."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from synthdata.jobs.models import Job, JobKind
from synthdata.service.customers.models import Customer, micros_to_decimal
from synthdata.service.usage.models import Charge, UsageLine


def price_micros(rows: int, price_per_1k_micros: int) -> int:
    """The cost of `rows` rows in millionths, rounded half-up to the millionth."""
    return (rows * price_per_1k_micros + 500) // 1000


def record_charge(session: Session, job: Job) -> Charge | None:
    """Add the charge of a succeeded generation job, unless it already has one.

    Runs in the transaction that marks the job succeeded; the unique `job_id`
    is the backstop should two finalizers ever race.
    """
    if job.kind != JobKind.GENERATE.value:
        return None
    existing = session.scalars(select(Charge).where(Charge.job_id == job.id)).first()
    if existing is not None:
        return existing
    customer = session.get_one(Customer, job.customer_id)
    charge = Charge(
        job_id=job.id,
        customer_id=job.customer_id,
        rows=job.rows,
        amount_micros=price_micros(job.rows, customer.price_per_1k_micros),
        currency=customer.currency,
    )
    session.add(charge)
    session.flush()
    return charge


def usage_lines(
    session: Session,
    *,
    customer_id: str | None,
    since: datetime | None,
    until: datetime | None,
) -> list[UsageLine]:
    """Jobs, rows and cost per customer and currency; all customers when `customer_id` is None."""
    query = select(
        Charge.customer_id,
        Charge.currency,
        func.count(Charge.id),
        func.coalesce(func.sum(Charge.rows), 0),
        func.coalesce(func.sum(Charge.amount_micros), 0),
    ).group_by(Charge.customer_id, Charge.currency)
    if customer_id is not None:
        query = query.where(Charge.customer_id == customer_id)
    if since is not None:
        query = query.where(Charge.created_at >= since)
    if until is not None:
        query = query.where(Charge.created_at < until)
    return [
        UsageLine(
            customer_id=cid,
            currency=currency,
            jobs=int(jobs),
            rows=int(rows),
            cost=micros_to_decimal(int(micros)),
        )
        for cid, currency, jobs, rows, micros in session.execute(
            query.order_by(Charge.customer_id, Charge.currency)
        )
    ]
