"""The shape a customer's dataset may have: tables, columns per table, rows in all.

The deployment sets one ceiling for each (`SYNTHDATA_MAX_DATASET_TABLES`,
`SYNTHDATA_MAX_DATASET_COLUMNS`, `SYNTHDATA_MAX_DATASET_ROWS`); a plan named in
`SYNTHDATA_PLAN_LIMITS` replaces the ones it gives, for the customers on that plan.
An upload over a limit is refused with 422 and nothing is kept.
"""

from __future__ import annotations

from dataclasses import dataclass

from synthdata.service.core.settings import Settings


@dataclass(frozen=True)
class ShapeLimits:
    """The most a dataset may hold; `columns` is per table, `rows` over all tables."""

    tables: int
    columns: int
    rows: int


def limits_for(settings: Settings, plan: str | None) -> ShapeLimits:
    """The limits of a customer on `plan` (the deployment's where the plan names none)."""
    named = settings.plan_limits.get(plan or "", {})
    return ShapeLimits(
        tables=named.get("tables", settings.max_dataset_tables),
        columns=named.get("columns", settings.max_dataset_columns),
        rows=named.get("rows", settings.max_dataset_rows),
    )
