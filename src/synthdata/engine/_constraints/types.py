"""The constraint types: what each checks, and how it is written in a model file."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from synthdata.engine import dates
from synthdata.engine._constraints.expression import Rule
from synthdata.engine._constraints.view import View, probe
from synthdata.engine.errors import InputError
from synthdata.engine.schema import ColumnKind, ColumnSpec, TableSchema

_NUMERIC = (ColumnKind.CONTINUOUS, ColumnKind.INTEGER)
_ORDERED = (*_NUMERIC, ColumnKind.DATETIME)
_NULL_KEY = "\x00null"
_TRUE = ("1", "1.0", "true", "t", "yes", "y")  # how a set flag is written


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
        self.holds(View(probe(schema), schema))  # a bound of the wrong type fails here

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

    def forbid(self, level: str) -> None:
        """Drop the learnt combinations holding `level` (unless none would be left).

        Rare-value protection pools a table's rare categories into one level and swaps
        it for fresh values after the constraints are checked; a fresh value makes a
        combination no real row has. Without the pooled level's combinations, the rows
        keep only common combinations seen in the real rows: both rules hold."""
        kept = [combo for combo in self.combinations or [] if level not in combo]
        if kept:
            self.combinations = kept

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
        self.holds(View(probe(schema), schema))

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
