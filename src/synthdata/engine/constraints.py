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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from synthdata.engine import dates
from synthdata.engine._constraints.expression import Rule
from synthdata.engine.columns import decode
from synthdata.engine.errors import InputError
from synthdata.engine.schema import ColumnKind, ColumnSpec, TableSchema

_NUMERIC = (ColumnKind.CONTINUOUS, ColumnKind.INTEGER)
_ORDERED = (*_NUMERIC, ColumnKind.DATETIME)
_NULL_KEY = "\x00null"
_TRUE = ("1", "1.0", "true", "t", "yes", "y")  # how a set flag is written


class ConstraintWarning(UserWarning):
    """A declared constraint does not hold in every real row."""


class View:
    """A table's columns in comparable form: numbers, date-times (UTC) or text."""

    def __init__(self, frame: pd.DataFrame, schema: TableSchema) -> None:
        self.frame = frame
        self.schema = schema
        self._cache: dict[str, pd.Series] = {}

    def __len__(self) -> int:
        return len(self.frame)

    def __call__(self, name: str) -> pd.Series:
        if name not in self._cache:
            if name not in self.frame.columns:
                raise InputError(f"constraint names unknown column {name!r}")
            self._cache[name] = _comparable(self.frame[name], self.schema[name])
        return self._cache[name]


def _comparable(series: pd.Series, spec: ColumnSpec) -> pd.Series:
    series = series.reset_index(drop=True)
    if isinstance(series.dtype, pd.CategoricalDtype):
        series = series.astype(object).where(series.notna(), None)
    if spec.kind == ColumnKind.DATETIME:
        # Every date-time as UTC, so naive and offset columns compare with each other.
        present = series.notna()
        if spec.datetime_format is not None and series.dtype == object:
            stamps = dates.parse(series[present], spec.datetime_format).reindex(series.index)
        else:
            stamps = pd.to_datetime(series.astype(object), utc=True)
        stamps = pd.to_datetime(stamps)
        if getattr(stamps.dt, "tz", None) is None:
            return stamps.dt.tz_localize("UTC")
        return stamps.dt.tz_convert("UTC")
    if spec.kind in _NUMERIC:
        return pd.to_numeric(series, errors="coerce").astype(float)
    return series


@dataclass
class Constraint:
    """One constraint; `real_share` is the share of real rows it held in at fit."""

    kind: ClassVar[str]
    method: ClassVar[str] = "rejection"
    real_share: float | None = field(default=None, kw_only=True)

    @property
    def columns(self) -> list[str]:
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError

    def holds(self, view: View) -> np.ndarray:
        """Per row of `view`: whether the constraint is met."""
        raise NotImplementedError

    def check(self, schema: TableSchema) -> None:
        """Refuse columns that do not exist or cannot take this constraint."""
        for name in self.columns:
            if name not in schema.names:
                raise InputError(f"constraint {self.describe()}: unknown column {name!r}")

    def learn(self, view: View) -> None:
        """Learn what the constraint needs from the real rows (most need nothing)."""

    def to_dict(self) -> dict[str, Any]:
        raise NotImplementedError


def _probe(schema: TableSchema) -> pd.DataFrame:
    """One row with a value of each column's kind, to type-check a constraint early."""
    sample: dict[ColumnKind, Any] = {
        ColumnKind.CONTINUOUS: 1.5,
        ColumnKind.INTEGER: 1,
        ColumnKind.BOOLEAN: True,
        ColumnKind.DATETIME: pd.Timestamp("2000-01-01"),
    }
    return pd.DataFrame({s.name: [sample.get(s.kind, "x")] for s in schema.columns})


def _any_null(view: View, names: Iterable[str]) -> np.ndarray:
    missing = np.zeros(len(view), dtype=bool)
    for name in names:
        missing |= view(name).isna().to_numpy()
    return missing


def _require_kind(constraint: Constraint, spec: ColumnSpec, kinds: tuple[ColumnKind, ...]) -> None:
    if spec.kind not in kinds:
        wanted = " or ".join(k.value for k in kinds)
        raise InputError(
            f"constraint {constraint.describe()}: column {spec.name!r} is {spec.kind.value}, "
            f"not {wanted}"
        )


@dataclass
class Inequality(Constraint):
    """`low` <= `high` (or < when strict), numbers or date-times."""

    kind: ClassVar[str] = "inequality"
    low: str
    high: str
    strict: bool = False

    @property
    def columns(self) -> list[str]:
        return [self.low, self.high]

    def describe(self) -> str:
        return f"{self.low} {'<' if self.strict else '<='} {self.high}"

    def check(self, schema: TableSchema) -> None:
        super().check(schema)
        for name in self.columns:
            _require_kind(self, schema[name], _ORDERED)
        if (schema[self.low].kind == ColumnKind.DATETIME) != (
            schema[self.high].kind == ColumnKind.DATETIME
        ):
            raise InputError(f"constraint {self.describe()}: compares a date with a number")

    def holds(self, view: View) -> np.ndarray:
        low, high = view(self.low), view(self.high)
        met = (low < high) if self.strict else (low <= high)
        return met.fillna(False).to_numpy(bool) | _any_null(view, self.columns)

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.kind, "low": self.low, "high": self.high, "strict": self.strict}


@dataclass
class Bounds(Constraint):
    """`min` <= `column` <= `max` (either end optional; strict: < and >)."""

    kind: ClassVar[str] = "bounds"
    column: str
    min: Any = None
    max: Any = None
    strict: bool = False

    @property
    def columns(self) -> list[str]:
        return [self.column]

    def describe(self) -> str:
        sign = "<" if self.strict else "<="
        low = f"{self.min} {sign} " if self.min is not None else ""
        high = f" {sign} {self.max}" if self.max is not None else ""
        return f"{low}{self.column}{high}"

    def check(self, schema: TableSchema) -> None:
        super().check(schema)
        _require_kind(self, schema[self.column], _ORDERED)
        if self.min is None and self.max is None:
            raise InputError(f"constraint bounds on {self.column!r}: give min, max or both")
        self.holds(View(_probe(schema), schema))  # a bound of the wrong type fails here

    def holds(self, view: View) -> np.ndarray:
        values = view(self.column)
        met = pd.Series(True, index=values.index)
        for bound, below in ((self.min, False), (self.max, True)):
            if bound is None:
                continue
            limit = _bound_value(bound, values, self, view.schema[self.column])
            if below:
                met &= (values < limit) if self.strict else (values <= limit)
            else:
                met &= (values > limit) if self.strict else (values >= limit)
        return met.fillna(False).to_numpy(bool) | values.isna().to_numpy()

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": self.kind,
            "column": self.column,
            "min": self.min,
            "max": self.max,
            "strict": self.strict,
        }


def _bound_value(bound: Any, values: pd.Series, constraint: Constraint, spec: ColumnSpec) -> Any:
    if pd.api.types.is_datetime64_any_dtype(values):
        try:
            stamp = pd.Timestamp(bound)
        except (TypeError, ValueError):
            raise InputError(
                f"constraint {constraint.describe()}: {bound!r} is not a date"
            ) from None
        if stamp.tzinfo is None:  # a bound without offset is in the column's own zone
            zone = dates.tzinfo(spec.timezone) if spec.timezone else "UTC"
            stamp = stamp.tz_localize(zone)
        return stamp.tz_convert("UTC")
    try:
        return float(bound)
    except (TypeError, ValueError):
        raise InputError(f"constraint {constraint.describe()}: {bound!r} is not a number") from None


@dataclass
class FixedCombinations(Constraint):
    """Only combinations of `columns` seen in the real rows (learnt at fit)."""

    kind: ClassVar[str] = "fixed_combinations"
    names: list[str]
    combinations: list[list[str]] | None = None

    @property
    def columns(self) -> list[str]:
        return list(self.names)

    def describe(self) -> str:
        return f"fixed combinations of {', '.join(self.names)}"

    def check(self, schema: TableSchema) -> None:
        super().check(schema)
        if len(self.names) < 2:
            raise InputError("constraint fixed_combinations: give at least two columns")

    def learn(self, view: View) -> None:
        keys = _keys(view, self.names).drop_duplicates()
        self.combinations = keys.to_numpy().tolist()

    def holds(self, view: View) -> np.ndarray:
        if not self.combinations:
            return np.zeros(len(view), dtype=bool)
        seen = pd.MultiIndex.from_arrays(list(zip(*self.combinations, strict=True)))
        rows = pd.MultiIndex.from_frame(_keys(view, self.names))
        return np.asarray(rows.isin(seen))

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.kind, "columns": self.names, "combinations": self.combinations}


def _keys(view: View, names: list[str]) -> pd.DataFrame:
    """Columns as text keys (nulls as one marker), comparable across save and load."""
    out = {}
    for name in names:
        values = view(name)
        spec = view.schema[name]
        if spec.kind in _NUMERIC:
            # As written (0.1 * 3 is 0.30000000000000004 in memory, "0.3" in the file).
            digits = 0 if spec.kind == ColumnKind.INTEGER else spec.decimals
            numbers = values.round(9 if digits is None else digits)
            text = numbers.map(lambda v: f"{v:.12g}")
        else:
            text = values.astype(object).map(str)
        out[name] = text.where(values.notna(), _NULL_KEY)
    return pd.DataFrame(out)


@dataclass
class OneHot(Constraint):
    """Exactly one of `columns` is 1 (or true) in every row."""

    kind: ClassVar[str] = "one_hot"
    names: list[str]

    @property
    def columns(self) -> list[str]:
        return list(self.names)

    def describe(self) -> str:
        return f"exactly one of {', '.join(self.names)}"

    def check(self, schema: TableSchema) -> None:
        super().check(schema)
        if len(self.names) < 2:
            raise InputError("constraint one_hot: give at least two columns")

    def holds(self, view: View) -> np.ndarray:
        ones = np.zeros(len(view), dtype=np.int64)
        for name in self.names:
            text = view(name).astype(str).str.strip().str.lower()
            ones += text.isin(_TRUE).to_numpy()
        return (ones == 1) | _any_null(view, self.names)

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.kind, "columns": self.names}


@dataclass
class Sum(Constraint):
    """`total` == the sum of `columns` (derived after sampling, so always exact)."""

    kind: ClassVar[str] = "sum"
    method: ClassVar[str] = "derived"
    names: list[str]
    total: str
    found: bool = False  # found in the real rows by the synthesizer, not declared

    @property
    def columns(self) -> list[str]:
        return [*self.names, self.total]

    def describe(self) -> str:
        return f"{' + '.join(self.names)} == {self.total}"

    def check(self, schema: TableSchema) -> None:
        super().check(schema)
        for name in self.columns:
            _require_kind(self, schema[name], _NUMERIC)
        if not self.names or self.total in self.names:
            raise InputError(f"constraint {self.describe()}: the total cannot be a part")

    def parts(self, view: View) -> pd.Series:
        return sum((view(name) for name in self.names[1:]), view(self.names[0]))

    def holds(self, view: View) -> np.ndarray:
        spec = view.schema[self.total]
        expected, total = self.parts(view), view(self.total)
        slack = 1e-9 * (1.0 + expected.abs())
        if spec.kind == ColumnKind.INTEGER:
            slack += 0.5
        elif spec.decimals is not None:
            slack += 0.5 * 10.0**-spec.decimals
        met = (total - expected).abs() <= slack
        return met.fillna(False).to_numpy(bool) | _any_null(view, self.columns)

    def to_dict(self) -> dict[str, Any]:
        found = {"found": True} if self.found else {}
        return {"type": self.kind, "columns": self.names, "total": self.total, **found}


@dataclass
class Expression(Constraint):
    """A rule in the small language of `_constraints.expression`."""

    kind: ClassVar[str] = "expression"
    rule: str
    _parsed: Rule = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._parsed = Rule(self.rule)

    @property
    def columns(self) -> list[str]:
        return self._parsed.columns

    def describe(self) -> str:
        return self.rule

    def check(self, schema: TableSchema) -> None:
        super().check(schema)
        # On one made-up row of the right types: `city > 3` fails here, before any fit.
        self.holds(View(_probe(schema), schema))

    def holds(self, view: View) -> np.ndarray:
        try:
            return self._parsed.evaluate(view, len(view))
        except InputError:
            raise
        except (TypeError, ValueError, ArithmeticError) as exc:
            raise InputError(f"rule {self.rule!r} cannot be evaluated: {exc}") from None

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.kind, "rule": self.rule}


@dataclass
class ConditionCheck(Constraint):
    """A condition on a derived number, checked after derivation (not declared by users:
    `sample` adds one per such condition, see `Synthesizer.iter_chunks`)."""

    kind: ClassVar[str] = "condition"
    column: str
    condition: Any

    @property
    def columns(self) -> list[str]:
        return [self.column]

    def describe(self) -> str:
        return f"condition on {self.column} = {self.condition!r}"

    def holds(self, view: View) -> np.ndarray:
        values = view(self.column)
        condition = self.condition
        if isinstance(condition, tuple) and len(condition) == 2:
            met = values.notna()
            low, high = (None if end is None else _number(end, self) for end in condition)
            if low is not None:
                met &= values >= low - 1e-9 * abs(low)
            if high is not None:
                met &= values <= high + 1e-9 * abs(high)
            return met.to_numpy(bool)
        items = list(condition) if isinstance(condition, list | set | frozenset) else [condition]
        met = np.zeros(len(view), dtype=bool)
        present = values.notna().to_numpy()
        numbers = values.to_numpy(dtype=float, na_value=np.nan)
        for item in items:
            if item is None:
                met |= ~present
            else:
                target = _number(item, self)
                met |= present & (np.abs(numbers - target) <= 1e-9 * (1.0 + abs(target)))
        return met

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.kind, "column": self.column, "condition": self.condition}


def _number(value: Any, constraint: Constraint) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise InputError(f"{constraint.describe()}: {value!r} is not a number") from None


TYPES: dict[str, type[Constraint]] = {
    c.kind: c for c in (Inequality, Bounds, FixedCombinations, OneHot, Sum, Expression)
}
_SHORTHANDS = {"positive": True, "nonnegative": False}


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
    from synthdata.engine._constraints.detect import propose

    return propose(data, schema)


def derived_columns(constraints: Iterable[Constraint]) -> dict[str, Sum]:
    """Columns computed from others after sampling, by name."""
    return {c.total: c for c in constraints if isinstance(c, Sum)}


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
