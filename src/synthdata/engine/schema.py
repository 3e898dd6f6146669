"""Schema inference: what kind of data each column holds and how to rebuild it.

The schema is plain data (dataclasses that round-trip through JSON) so that it
can be shown to a user, overridden, and saved inside a model file.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np
import pandas as pd

from synthdata.engine.errors import InputError

# A text column with at most this many distinct values (or this share of rows)
# is a categorical; above it, a unique text column is an identifier.
MAX_CATEGORIES = 1000
DISCRETE_NUMERIC_LEVELS = 64
_MAX_DECIMALS = 6


class ColumnKind(StrEnum):
    """How a column is modelled and regenerated."""

    CONTINUOUS = "continuous"
    INTEGER = "integer"
    BOOLEAN = "boolean"
    DATETIME = "datetime"
    CATEGORICAL = "categorical"
    IDENTIFIER = "identifier"
    CONSTANT = "constant"
    EMPTY = "empty"


@dataclass
class ColumnSpec:
    """One column: its kind plus what is needed to write values of the same form."""

    name: str
    kind: ColumnKind
    null_rate: float = 0.0
    decimals: int | None = None  # continuous: round to this many decimals
    timezone: str | None = None  # datetime: IANA name, or None for naive
    datetime_unit: str | None = None  # datetime: coarsest unit all values are a multiple of
    identifier_format: str | None = None  # identifier: "int", "uuid" or "prefix:<text>:<width>"
    constant_value: Any = None  # constant: the single value
    source_dtype: str = ""

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["kind"] = self.kind.value
        if isinstance(self.constant_value, (np.generic,)):
            data["constant_value"] = self.constant_value.item()
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ColumnSpec:
        known = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["kind"] = ColumnKind(values["kind"])
        return cls(**values)


@dataclass
class TableSchema:
    """The ordered columns of a table."""

    columns: list[ColumnSpec] = field(default_factory=list)

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def __getitem__(self, name: str) -> ColumnSpec:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        return {"columns": [c.to_dict() for c in self.columns]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TableSchema:
        return cls([ColumnSpec.from_dict(c) for c in data["columns"]])


def infer_schema(
    frame: pd.DataFrame, overrides: dict[str, str | ColumnKind] | None = None
) -> TableSchema:
    """Infer the kind of every column of `frame`.

    `overrides` maps a column name to a `ColumnKind` value (e.g. ``{"zip": "categorical"}``)
    and wins over inference.
    """
    if frame.shape[1] == 0:
        raise InputError("the table has no columns")
    if len(set(frame.columns)) != frame.shape[1]:
        raise InputError("the table has duplicate column names")
    overrides = dict(overrides or {})
    unknown = set(overrides) - {str(c) for c in frame.columns}
    if unknown:
        raise InputError(f"override for unknown column(s): {', '.join(sorted(unknown))}")
    columns = []
    for name in frame.columns:
        forced = overrides.get(str(name))
        kind = _parse_kind(forced) if forced is not None else None
        columns.append(_infer_column(str(name), frame[name], kind))
    return TableSchema(columns)


def _parse_kind(value: str | ColumnKind) -> ColumnKind:
    try:
        return ColumnKind(value)
    except ValueError:
        allowed = ", ".join(k.value for k in ColumnKind)
        raise InputError(f"unknown column type {value!r} (expected one of: {allowed})") from None


def _infer_column(name: str, series: pd.Series, forced: ColumnKind | None) -> ColumnSpec:
    n = len(series)
    nulls = int(series.isna().sum())
    spec = ColumnSpec(
        name=name,
        kind=ColumnKind.EMPTY,
        null_rate=nulls / n if n else 0.0,
        source_dtype=str(series.dtype),
    )
    values = series.dropna()
    if forced is None:
        forced = _guess_kind(series, values)
    spec.kind = forced
    _fill_details(spec, series, values)
    return spec


def _guess_kind(series: pd.Series, values: pd.Series) -> ColumnKind:
    if values.empty:
        return ColumnKind.EMPTY
    distinct = values.nunique()
    if distinct == 1:
        return ColumnKind.CONSTANT
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return ColumnKind.BOOLEAN
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return ColumnKind.DATETIME
    if pd.api.types.is_numeric_dtype(dtype):
        is_int = pd.api.types.is_integer_dtype(dtype) or bool(
            np.all(np.mod(values.to_numpy(dtype="float64"), 1.0) == 0)
        )
        if (
            is_int
            and distinct == len(values)
            and distinct == len(series)
            and _looks_like_key(series.name, values)
        ):
            return ColumnKind.IDENTIFIER
        return ColumnKind.INTEGER if is_int else ColumnKind.CONTINUOUS
    # Text (plain or already dictionary-encoded): unique everywhere means a key.
    if distinct == len(values) and len(values) > MAX_CATEGORIES // 10:
        return ColumnKind.IDENTIFIER
    uniques = values.cat.categories if isinstance(dtype, pd.CategoricalDtype) else values.unique()
    if len(uniques) <= 8 and {str(v).strip().lower() for v in uniques} <= {"true", "false"}:
        return ColumnKind.BOOLEAN
    return ColumnKind.CATEGORICAL


def _looks_like_key(name: object, values: pd.Series) -> bool:
    """A unique integer column is a key when its name says so or it is a dense run."""
    label = str(name).lower()
    if label == "id" or label.endswith(("_id", "id", "_key", "_no", "_number")):
        return True
    span = float(values.max()) - float(values.min()) + 1
    return span <= 1.5 * len(values)


def _fill_details(spec: ColumnSpec, series: pd.Series, values: pd.Series) -> None:
    kind = spec.kind
    if kind == ColumnKind.CONSTANT and not values.empty:
        value = values.iloc[0]
        spec.constant_value = value.item() if isinstance(value, np.generic) else value
        if isinstance(value, pd.Timestamp):
            spec.constant_value = value.isoformat()
    elif kind == ColumnKind.CONTINUOUS:
        spec.decimals = _decimals(values)
    elif kind == ColumnKind.DATETIME:
        stamps = pd.to_datetime(values, utc=False, errors="coerce")
        if stamps.isna().all():
            raise InputError(f"column {spec.name!r}: no value could be read as a date/time")
        tz = getattr(stamps.dt, "tz", None)
        spec.timezone = str(tz) if tz is not None else None
        spec.datetime_unit = _datetime_unit(stamps)
    elif kind == ColumnKind.IDENTIFIER:
        spec.identifier_format = _identifier_format(values)
        spec.null_rate = 0.0 if spec.null_rate == 0 else spec.null_rate


def _decimals(values: pd.Series) -> int | None:
    floats = values.to_numpy(dtype="float64")
    sample = floats[:100_000]
    for decimals in range(_MAX_DECIMALS + 1):
        if np.allclose(np.round(sample, decimals), sample, rtol=0, atol=1e-9):
            return decimals
    return None


_UNITS = [
    ("D", 86_400 * 10**9),
    ("h", 3_600 * 10**9),
    ("min", 60 * 10**9),
    ("s", 10**9),
    ("ms", 10**6),
    ("us", 10**3),
]


def _datetime_unit(stamps: pd.Series) -> str:
    if getattr(stamps.dt, "tz", None) is not None:
        stamps = stamps.dt.tz_convert("UTC").dt.tz_localize(None)
    nanos = stamps.dropna().astype("datetime64[ns]").astype("int64").to_numpy()[:100_000]
    for unit, size in _UNITS:
        if np.all(nanos % size == 0):
            return unit
    return "ns"


def _identifier_format(values: pd.Series) -> str:
    if pd.api.types.is_numeric_dtype(values.dtype):
        return "int"
    text = values.astype(str)
    sample = text.iloc[:1000]
    if sample.str.fullmatch(
        r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
        r"[0-9a-fA-F]{12}"
    ).all():
        return "uuid"
    prefix = sample.str.extract(r"^(\D*)")[0]
    digits = sample.str.extract(r"(\d+)$")[0]
    if prefix.nunique() == 1 and digits.notna().all():
        width = int(digits.str.len().max())
        return f"prefix:{prefix.iloc[0]}:{width}"
    return "uuid"
