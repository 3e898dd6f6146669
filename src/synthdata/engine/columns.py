"""Column codecs: turn a pandas column into numbers the copula can model, and back.

A modelled column becomes either codes into a list of levels (categories,
booleans, numbers with few distinct values) or plain float values (numbers and
date-times with many distinct values). Decoding restores the column's form:
integer-ness and bounds, rounding, date-time unit and timezone, nullable dtypes, and
the written format of date-times that were text.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from synthdata.engine import dates
from synthdata.engine.errors import InputError
from synthdata.engine.schema import DISCRETE_NUMERIC_LEVELS, ColumnKind, ColumnSpec

_UNIT_NANOS = {
    "D": 86_400 * 10**9,
    "h": 3_600 * 10**9,
    "min": 60 * 10**9,
    "s": 10**9,
    "ms": 10**6,
    "us": 10**3,
    "ns": 1,
}


@dataclass
class Encoded:
    """A column as the copula sees it."""

    values: np.ndarray  # float64 values, or int64 codes when `levels` is set (nulls removed)
    present: np.ndarray  # bool mask of non-null rows
    levels: list[Any] | None  # level values in code order, or None for a numeric column


def encode(series: pd.Series, spec: ColumnSpec) -> Encoded:
    """Encode one modelled column."""
    present = series.notna().to_numpy()
    values = series[present]
    kind = spec.kind
    try:
        if kind in (ColumnKind.CATEGORICAL, ColumnKind.BOOLEAN):
            return _encode_levels(values, present, spec)
        numbers = _as_numbers(values, spec)
    except (TypeError, ValueError) as exc:
        raise InputError(
            f"column {spec.name!r} cannot be read as {kind.value}: {_reason(exc, spec)}"
        ) from None
    # A glance at the first rows rules out most continuous columns without a full sort.
    if len(np.unique(numbers[:20_000])) > DISCRETE_NUMERIC_LEVELS:
        return Encoded(numbers, present, None)
    distinct = np.unique(numbers)
    if len(distinct) <= DISCRETE_NUMERIC_LEVELS:
        codes = np.searchsorted(distinct, numbers)
        return Encoded(codes.astype(np.int64), present, distinct.tolist())
    return Encoded(numbers, present, None)


def _encode_levels(values: pd.Series, present: np.ndarray, spec: ColumnSpec) -> Encoded:
    if spec.kind == ColumnKind.BOOLEAN:
        values = _as_bool(values)
    if isinstance(values.dtype, pd.CategoricalDtype):
        values = values.cat.remove_unused_categories()
        codes, uniques = values.cat.codes.to_numpy(), values.cat.categories
    else:
        codes, uniques = pd.factorize(values, sort=False)
    levels = [_plain(v) for v in uniques]
    return Encoded(codes.astype(np.int64), present, levels)


def _as_bool(values: pd.Series) -> pd.Series:
    if pd.api.types.is_bool_dtype(values.dtype):
        return values.astype(bool)
    if isinstance(values.dtype, pd.CategoricalDtype):
        values = values.astype(object)
    lowered = values.astype(str).str.strip().str.lower()
    mapping = {"true": True, "false": False, "1": True, "0": False, "yes": True, "no": False}
    mapped = lowered.map(mapping)
    if mapped.isna().any():
        bad = values[mapped.isna()].iloc[0]
        raise ValueError(f"{bad!r} is not a boolean")
    return mapped.astype(bool)


def _as_numbers(values: pd.Series, spec: ColumnSpec) -> np.ndarray:
    if spec.kind == ColumnKind.DATETIME:
        if spec.datetime_format is not None and not pd.api.types.is_datetime64_any_dtype(
            values.dtype
        ):
            stamps = dates.parse(values, spec.datetime_format)
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)  # pandas guessing a format
                stamps = pd.to_datetime(values, errors="raise", utc=spec.timezone is not None)
        if getattr(stamps.dt, "tz", None) is not None:
            stamps = stamps.dt.tz_convert("UTC").dt.tz_localize(None)
        return stamps.astype("datetime64[ns]").astype("int64").to_numpy().astype(np.float64)
    return pd.to_numeric(values, errors="raise").to_numpy(dtype=np.float64)


def _reason(exc: BaseException, spec: ColumnSpec) -> str:
    """The gist of a reader's error, on one line (pandas adds multi-line advice)."""
    lines = str(exc).strip().splitlines()
    first = lines[0] if lines else type(exc).__name__
    first = first.split(". You might want to try")[0].rstrip(":. ")
    if spec.kind == ColumnKind.DATETIME:
        first += "; give the format with --date-format COLUMN=FORMAT (e.g. %d/%m/%Y)"
    return first


def _plain(value: Any) -> Any:
    """JSON-safe scalar (numpy scalars become Python ones)."""
    return value.item() if isinstance(value, np.generic) else value


def decode(
    values: np.ndarray, present: np.ndarray, spec: ColumnSpec, levels: list[Any] | None
) -> pd.Series:
    """Build the output column from sampled values (or codes) and the non-null mask."""
    kind = spec.kind
    if kind == ColumnKind.CATEGORICAL and levels is not None:
        # Dictionary-encoded output: writing it to CSV/Parquet is several times faster.
        codes = np.where(present, values, -1)
        return pd.Series(pd.Categorical.from_codes(codes, categories=pd.Index(levels)))
    if levels is not None:
        values = np.asarray(levels, dtype=object if _is_text(levels) else None)[values]
    if kind == ColumnKind.BOOLEAN:
        out = pd.Series(values.astype(bool))
        return out if present.all() else out.astype("boolean").where(present, pd.NA)
    if kind == ColumnKind.DATETIME:
        return _decode_datetime(values.astype(np.float64), present, spec)
    numbers = values.astype(np.float64)
    if kind == ColumnKind.INTEGER:
        rounded = np.rint(numbers).astype(np.int64)
        out = pd.Series(rounded)
        return out if present.all() else out.astype("Int64").where(present, pd.NA)
    if spec.decimals is not None:
        numbers = np.round(numbers, spec.decimals)
    return pd.Series(np.where(present, numbers, np.nan))


def _is_text(levels: list[Any]) -> bool:
    return any(isinstance(v, str) for v in levels)


def _decode_datetime(nanos: np.ndarray, present: np.ndarray, spec: ColumnSpec) -> pd.Series:
    unit = _UNIT_NANOS.get(spec.datetime_unit or "ns", 1)
    whole = (np.rint(nanos / unit) * unit).astype(np.int64)
    if spec.datetime_format is not None:  # text in, text out: the real values' format
        stamps = pd.Series(whole.astype("datetime64[ns]")).where(present, pd.NaT)
        if spec.timezone is not None:
            stamps = stamps.dt.tz_localize("UTC")
        return dates.write(stamps, spec.datetime_format, spec.timezone)
    if spec.datetime_unit == "D" and spec.timezone is None:
        # Date-only columns stay dates in files ("2013-09-19", not "... 00:00:00").
        days = pa.array(whole // unit, type=pa.int64(), mask=~present).cast(pa.int32())
        return pd.Series(pd.arrays.ArrowExtensionArray(days.cast(pa.date32())))
    # Store at the column's own resolution so files show "12:05:36", not nanoseconds.
    resolution = spec.datetime_unit if spec.datetime_unit in ("ms", "us", "ns") else "s"
    stamps = pd.Series(whole.astype("datetime64[ns]")).astype(f"datetime64[{resolution}]")
    stamps = stamps.where(present, pd.NaT)
    if spec.timezone is not None:
        stamps = stamps.dt.tz_localize("UTC").dt.tz_convert(dates.tzinfo(spec.timezone))
    return stamps
