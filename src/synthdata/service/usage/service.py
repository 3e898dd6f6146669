"""Charging succeeded jobs and summing usage."""

from __future__ import annotations

import functools
from datetime import datetime

from sqlalchemy import Select, bindparam, func, select
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
    shape, values = _usage_statement(customer_id, since, until)
    return [
        UsageLine(
            customer_id=cid,
            currency=currency,
            jobs=int(jobs),
            rows=int(rows),
            cost=micros_to_decimal(int(micros)),
        )
        for cid, currency, jobs, rows, micros in session.execute(shape, values)
    ]


def usage_query(
    *, customer_id: str | None, since: datetime | None, until: datetime | None
) -> Select[str, str, int, int, int]:
    """The usage aggregation with its values bound (also planned by `ops optimize-queries`)."""
    shape, values = _usage_statement(customer_id, since, until)
    return shape.params(values)


def _usage_statement(
    customer_id: str | None, since: datetime | None, until: datetime | None
) -> tuple[Select[str, str, int, int, int], dict[str, object]]:
    values: dict[str, object] = {
        name: value
        for name, value in (("customer_id", customer_id), ("since", since), ("until", until))
        if value is not None
    }
    return _usage_shape("customer_id" in values, "since" in values, "until" in values), values


@functools.cache
def _usage_shape(
    by_customer: bool, from_time: bool, to_time: bool
) -> Select[str, str, int, int, int]:
    """The statement for one combination of filters, built once: building a select
    costs more CPU than running it on a small table, and usage is read often."""
    query = select(
        Charge.customer_id,
        Charge.currency,
        func.count(Charge.id),
        func.coalesce(func.sum(Charge.rows), 0),
        func.coalesce(func.sum(Charge.amount_micros), 0),
    ).group_by(Charge.customer_id, Charge.currency)
    if by_customer:
        query = query.where(Charge.customer_id == bindparam("customer_id"))
    if from_time:
        query = query.where(Charge.created_at >= bindparam("since"))
    if to_time:
        query = query.where(Charge.created_at < bindparam("until"))
    return query.order_by(Charge.customer_id, Charge.currency)
