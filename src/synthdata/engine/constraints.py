"""Constraints that every synthetic row meets: declared by the user, kept in the model.

    synthdata.fit("orders.csv", constraints=[
        {"type": "inequality", "low": "ordered_at", "high": "shipped_at"},
        {"type": "bounds", "column": "discount", "min": 0, "max": 0.5},
        {"type": "positive", "column": "price"},
        {"type": "fixed_combinations", "columns": ["country", "city"]},
        {"type": "one_hot", "columns": ["is_web", "is_store", "is_phone"]},
        {"type": "sum", "columns": ["net", "tax"], "total": "gross"},
        "quantity * price <= 10000 or segment == 'wholesale'",   # a rule
    ])

How each one is kept (docs/engine.md has the table):

- `sum` is derived: the total is computed from its parts after sampling, so it
  holds exactly (to the total's decimals) and costs nothing.
- every other type is checked on candidate rows drawn from the model, and only
  rows that meet all of them are kept (rejection). The model already follows the
  real rows, where the constraint held, so few candidates are refused; when the
  model (or the conditions asked for) meets a constraint in fewer than 1 in
  1,000 candidate rows, sampling stops with an error naming it instead of
  looping (see `_constraints.sampling`).

Rows with a null in a column a constraint names meet it (as in the real table,
where a missing date cannot be out of order).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from synthdata.engine._constraints.detect import propose
from synthdata.engine._constraints.types import (
    Bounds,
    ConditionCheck,
    Constraint,
    Expression,
    FixedCombinations,
    Inequality,
    OneHot,
    Sum,
)
from synthdata.engine._constraints.view import View
from synthdata.engine.columns import decode
from synthdata.engine.errors import InputError
from synthdata.engine.schema import TableSchema

__all__ = [
    "Bounds",
    "ConditionCheck",
    "Constraint",
    "ConstraintWarning",
    "Expression",
    "FixedCombinations",
    "Inequality",
    "OneHot",
    "Sum",
    "View",
    "constraint_types",
    "declared_totals",
    "derive",
    "fit_constraints",
    "kept_for",
    "load_constraints",
    "parse_constraint",
    "propose_constraints",
    "unmet",
]


class ConstraintWarning(UserWarning):
    """A declared constraint does not hold in every real row."""


TYPES: dict[str, type[Constraint]] = {
    c.kind: c for c in (Inequality, Bounds, FixedCombinations, OneHot, Sum, Expression)
}
_SHORTHANDS = {"positive": True, "nonnegative": False}


def constraint_types() -> list[str]:
    """The `type` values a declared constraint mapping may have."""
    return [*TYPES, *_SHORTHANDS]


def parse_constraint(item: Constraint | str | Mapping[str, Any]) -> Constraint:
    """A constraint from its declared form (a dict as in the module docstring, or a rule)."""
    if isinstance(item, Constraint):
        return item
    if isinstance(item, str):
        return Expression(item)
    if not isinstance(item, Mapping):
        raise InputError(f"a constraint is a mapping or a rule, not {type(item).__name__}")
    spec = dict(item)
    kind = spec.pop("type", None)
    share = spec.pop("real_share", None)
    if kind in _SHORTHANDS:
        spec = {"column": spec.pop("column", None), "min": 0, "strict": _SHORTHANDS[kind], **spec}
        kind = "bounds"
    if kind not in TYPES:
        known = ", ".join([*TYPES, *_SHORTHANDS])
        raise InputError(f"unknown constraint type {kind!r} (known: {known})")
    if "columns" in spec and kind != "expression":
        spec["names"] = spec.pop("columns")
    # Column names are text in the model (a table's 0, 1... become "0", "1"...).
    for key in ("low", "high", "column", "total"):
        if spec.get(key) is not None and not isinstance(spec[key], str):
            spec[key] = str(spec[key])
    if isinstance(spec.get("names"), list):
        spec["names"] = [str(name) for name in spec["names"]]
    try:
        constraint = TYPES[kind](**spec)
    except TypeError as exc:
        raise InputError(f"constraint {kind}: {_reason(exc)}") from None
    constraint.real_share = share
    return constraint


def _reason(exc: TypeError) -> str:
    text = str(exc)
    return text.split(".__init__() ", 1)[-1].replace("'names'", "'columns'")


def load_constraints(path: str | Path) -> list[Constraint]:
    """Constraints from a YAML file: a list, or a mapping with a `constraints` list."""
    import yaml

    try:
        document = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"constraints file not found: {path}") from None
    except yaml.YAMLError as exc:
        raise InputError(f"constraints file {path} is not valid YAML: {exc}") from None
    if isinstance(document, Mapping):
        document = document.get("constraints")
    if not isinstance(document, list):
        raise InputError(f"constraints file {path}: expected a list of constraints")
    return [parse_constraint(item) for item in document]


def fit_constraints(
    items: Iterable[Constraint | str | Mapping[str, Any]], data: pd.DataFrame, schema: TableSchema
) -> list[Constraint]:
    """Check the constraints against the schema, learn from the real rows, and measure
    the share of real rows each holds in (a warning names any below 100 %)."""
    constraints = [parse_constraint(item) for item in items]
    view = View(data, schema)
    derived: set[str] = set()
    for constraint in constraints:
        constraint.check(schema)
        if isinstance(constraint, Sum):
            if constraint.total in derived:
                raise InputError(f"column {constraint.total!r} is the total of two sums")
            derived.add(constraint.total)
        constraint.learn(view)
        met = int(constraint.holds(view).sum())
        constraint.real_share = met / len(view) if len(view) else 1.0
        if met < len(view):
            warnings.warn(
                ConstraintWarning(
                    f"constraint {constraint.describe()} holds in {met:,} of {len(view):,} "
                    "real rows; every synthetic row will meet it"
                ),
                stacklevel=3,
            )
    return constraints


def propose_constraints(data: pd.DataFrame, schema: TableSchema) -> list[Constraint]:
    """Constraints every real row meets and that say more than the columns' ranges
    (see `_constraints.detect`), each with `real_share` 1.0."""
    return propose(data, schema)


def declared_totals(constraints: Iterable[Constraint]) -> dict[str, Sum]:
    """Totals derived by a declared sum, by name: a condition or a seed value on one is
    checked against the derived total (a sum found by the synthesizer is not here)."""
    return {c.total: c for c in constraints if isinstance(c, Sum) and not c.found}


def kept_for(constraints: Iterable[Constraint], given: Iterable[str]) -> list[Constraint]:
    """The constraints kept when the columns `given` are set (by conditions or seed rows):
    a sum found by the synthesizer gives way to a total that is set, where an exact
    total would cost many rejected rows (48x the time for an integer total)."""
    fixed = set(given)
    return [c for c in constraints if not (isinstance(c, Sum) and c.found and c.total in fixed)]


def derive(frame: pd.DataFrame, schema: TableSchema, constraints: Iterable[Constraint]) -> None:
    """Compute derived columns of `frame` in place, in their written form.

    Where a part is null the sum says nothing (the constraint holds there), so the
    total drawn by the model is kept: a total present in the real rows stays present.
    """
    for constraint in constraints:
        if not isinstance(constraint, Sum):
            continue
        view = View(frame, schema)
        total = constraint.parts(view)
        parts_present = total.notna().to_numpy()
        drawn = view(constraint.total).to_numpy(dtype=float, na_value=np.nan)
        values = np.where(parts_present, total.fillna(0.0).to_numpy(float), drawn)
        present = ~np.isnan(values)
        values = np.where(present, values, 0.0)
        frame[constraint.total] = decode(values, present, schema[constraint.total], None)


def unmet(frame: pd.DataFrame, schema: TableSchema, constraints: list[Constraint]) -> np.ndarray:
    """Per constraint (rows) and row (columns): whether the row fails it."""
    view = View(frame, schema)
    if not constraints:
        return np.zeros((0, len(frame)), dtype=bool)
    return np.vstack([~c.holds(view) for c in constraints])
