"""A table's columns in the form constraints compare them: numbers, UTC date-times, text."""

from __future__ import annotations

from typing import Any

import pandas as pd

from synthdata.engine import dates
from synthdata.engine.errors import InputError
from synthdata.engine.schema import ColumnKind, ColumnSpec, TableSchema

_NUMERIC = (ColumnKind.CONTINUOUS, ColumnKind.INTEGER)


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


def probe(schema: TableSchema) -> pd.DataFrame:
    """One row with a value of each column's kind, to type-check a constraint early."""
    sample: dict[ColumnKind, Any] = {
        ColumnKind.CONTINUOUS: 1.5,
        ColumnKind.INTEGER: 1,
        ColumnKind.BOOLEAN: True,
        ColumnKind.DATETIME: pd.Timestamp("2000-01-01"),
    }
    return pd.DataFrame({s.name: [sample.get(s.kind, "x")] for s in schema.columns})
