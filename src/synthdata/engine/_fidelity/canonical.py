"""One comparable form per column kind, shared by every score.

A synthetic table comes back from a generator, a CSV file or another library with its
own dtypes: integers as floats, dates as text or in another time zone, booleans as
"True"/"1". Every measure compares tables only after both went through `canonical_frame`,
so a dtype difference is never scored as a difference in the data.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from synthdata.engine.schema import ColumnKind, TableSchema

SCORED_KINDS = (
    ColumnKind.CONTINUOUS,
    ColumnKind.INTEGER,
    ColumnKind.DATETIME,
    ColumnKind.CATEGORICAL,
    ColumnKind.BOOLEAN,
)
"""Kinds that carry information to compare; identifiers, constants and empty columns do not."""

NUMERIC_KINDS = (ColumnKind.CONTINUOUS, ColumnKind.INTEGER, ColumnKind.DATETIME)
"""Kinds compared as ordered numbers (dates as nanoseconds since the epoch)."""

_NULL_TEXT = frozenset({"", "nan", "nat", "none", "null", "<na>"})


def scored_kinds(schema: TableSchema) -> dict[str, ColumnKind]:
    """The scored columns of `schema`, in table order, with their kinds."""
    return {c.name: c.kind for c in schema.columns if c.kind in SCORED_KINDS}


def canonical_frame(
    frame: pd.DataFrame, schema: TableSchema, problems: list[str], role: str
) -> pd.DataFrame:
    """Bring every column of `frame` to one comparable form per kind, the same for every table.

    Numbers become float64, dates naive-UTC datetime64[us] (so tables whose datetime units
    or time zones differ, or whose dates came back from a CSV as text, still compare),
    everything else text labels. Values that cannot be read in their column's kind become
    nulls, and `problems` says how many.
    """
    out = {}
    for name in frame.columns:
        kind = schema[str(name)].kind
        series = frame[name]
        value = _canonical(series, kind)
        lost = int(value.isna().sum() - series.isna().sum())
        if lost > 0:  # the text a CSV round trip leaves for nulls is not a loss
            lost -= _null_text_count(series)
        if lost > 0:
            problems.append(f"{role} column {name!r}: {lost} value(s) unreadable as {kind.value}")
        out[name] = value
    return pd.DataFrame(out, index=pd.RangeIndex(len(frame)))


def numbers(series: pd.Series) -> np.ndarray:
    """A canonical numeric or date column as float64, dates in nanoseconds; nulls are NaN."""
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        values = series.to_numpy(dtype="datetime64[ns]").astype("int64").astype("float64")
        values[series.isna().to_numpy()] = np.nan
        return values
    return series.to_numpy(dtype="float64", na_value=np.nan)


def subsample(frame: pd.DataFrame, max_rows: int, seed: int) -> pd.DataFrame:
    """At most `max_rows` rows of `frame`, drawn without replacement with `seed`."""
    if len(frame) <= max_rows:
        return frame.reset_index(drop=True)
    return frame.sample(n=max_rows, random_state=seed).reset_index(drop=True)


def _null_text_count(series: pd.Series) -> int:
    if pd.api.types.is_numeric_dtype(series.dtype) or pd.api.types.is_datetime64_any_dtype(
        series.dtype
    ):
        return 0
    text = series.dropna().astype(str).str.strip().str.lower()
    return int(text.isin(_NULL_TEXT).sum())


def _canonical(series: pd.Series, kind: ColumnKind) -> pd.Series:
    series = series.reset_index(drop=True)
    if kind in (ColumnKind.CONTINUOUS, ColumnKind.INTEGER):
        if pd.api.types.is_bool_dtype(series.dtype):
            series = series.astype("float64")
        return pd.to_numeric(series, errors="coerce").astype("float64")
    if kind == ColumnKind.DATETIME:
        if not pd.api.types.is_datetime64_any_dtype(series.dtype):
            series = _parse_datetimes(series)
        if getattr(series.dt, "tz", None) is not None:
            series = series.dt.tz_convert("UTC").dt.tz_localize(None)
        return series.astype("datetime64[us]")
    labels = _labels(series)
    if kind == ColumnKind.BOOLEAN:
        labels = labels.str.lower().replace({"1": "true", "0": "false"})
    return labels


def _parse_datetimes(series: pd.Series) -> pd.Series:
    """Text dates to UTC; ISO 8601 (what CSV writers emit) fast, anything else per value."""
    try:
        return pd.to_datetime(series, utc=True, format="ISO8601")
    except (ValueError, TypeError):
        return pd.to_datetime(series, utc=True, format="mixed", errors="coerce")


def _labels(series: pd.Series) -> pd.Series:
    """Text labels with integral numbers written without a decimal point (1.0 -> "1")."""
    nulls = series.isna()
    if pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series.dtype):
        numbers = pd.to_numeric(series, errors="coerce").astype("float64")
        integral = numbers.notna() & (numbers % 1 == 0) & (numbers.abs() < 2**53)
        text = numbers.astype(str).astype(object)
        text[integral] = numbers[integral].astype("int64").astype(str)
    else:
        text = series.astype(str).astype(object)
    text[nulls] = np.nan
    return text
