"""Our tables in SDV's terms and back: SDV metadata, SDV's input frame, restored output.

Kept apart from `sdv_adapter` so that the translation can be read (and tested)
without the adapter's SDV plumbing; nothing here imports SDV.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from synthdata.engine import dates
from synthdata.engine.keys import identifier_column
from synthdata.engine.schema import ColumnKind, ColumnSpec, TableSchema

TABLE_NAME = "table"
# Columns SDV would learn nothing from; we rebuild them ourselves after sampling.
_REBUILT = (ColumnKind.CONSTANT, ColumnKind.EMPTY)


def rebuilt(spec: ColumnSpec) -> bool:
    """Constants, empty columns, and regenerated text (codes, names, free text)."""
    form = spec.identifier_format or ""
    return spec.kind in _REBUILT or form.startswith(("pattern:", "text:"))


def build_metadata_dict(schema: TableSchema) -> dict[str, Any]:
    """Describe the modelled columns of `schema` in SDV's metadata dictionary form."""
    columns: dict[str, dict[str, Any]] = {}
    primary_key: str | None = None
    for spec in schema.columns:
        if rebuilt(spec):
            continue
        columns[spec.name] = _sdtype(spec)
        if spec.kind == ColumnKind.IDENTIFIER and primary_key is None and spec.null_rate == 0:
            primary_key = spec.name
    table: dict[str, Any] = {"columns": columns}
    if primary_key is not None:
        table["primary_key"] = primary_key
    return {"METADATA_SPEC_VERSION": "V1", "tables": {TABLE_NAME: table}, "relationships": []}


def _sdtype(spec: ColumnSpec) -> dict[str, Any]:
    kind = spec.kind
    if kind == ColumnKind.IDENTIFIER:
        if spec.identifier_format == "int":
            return {"sdtype": "id"}
        # SDV makes text keys from a regular expression; keep our key's visible shape.
        if spec.identifier_format and spec.identifier_format.startswith("prefix:"):
            _, prefix, width = spec.identifier_format.split(":", 2)
            return {"sdtype": "id", "regex_format": f"{_escape(prefix)}[0-9]{{{width}}}"}
        return {
            "sdtype": "id",
            "regex_format": "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
        }
    if kind == ColumnKind.CATEGORICAL:
        return {"sdtype": "categorical"}
    if kind == ColumnKind.BOOLEAN:
        return {"sdtype": "boolean"}
    if kind == ColumnKind.DATETIME:
        return {"sdtype": "datetime"}
    # Integer-ness is learnt by SDV's rounding from the data (SDV 2 ignores representations).
    return {"sdtype": "numerical"}


def _escape(text: str) -> str:
    return "".join(f"\\{ch}" if ch in r".^$*+?{}[]\|()" else ch for ch in text)


def to_sdv_frame(data: pd.DataFrame, schema: TableSchema) -> pd.DataFrame:
    """The columns SDV models, in forms it accepts (naive date-times, real booleans)."""
    out: dict[str, pd.Series] = {}
    for spec in schema.columns:
        if rebuilt(spec):
            continue
        series = data[spec.name]
        if spec.kind == ColumnKind.DATETIME:
            series = _as_naive_utc(series, spec)
        elif spec.kind == ColumnKind.BOOLEAN and not pd.api.types.is_bool_dtype(series.dtype):
            lowered = series.astype("string").str.strip().str.lower()
            series = lowered.map({"true": True, "false": False, "1": True, "0": False})
            series = series.astype("object")
        elif spec.kind in (ColumnKind.INTEGER, ColumnKind.CONTINUOUS):
            series = pd.to_numeric(series, errors="coerce").astype("float64")
        elif spec.kind == ColumnKind.CATEGORICAL:
            series = series.astype("object")
        out[spec.name] = series
    return pd.DataFrame(out, index=data.index)


def _as_naive_utc(series: pd.Series, spec: ColumnSpec) -> pd.Series:
    # SDV models naive date-times only; aware ones are modelled in UTC and re-localised.
    if spec.datetime_format is not None and not pd.api.types.is_datetime64_any_dtype(series):
        stamps = dates.parse(series, spec.datetime_format)  # text in its own format
    else:
        stamps = pd.to_datetime(series, errors="coerce", utc=spec.timezone is not None)
    if getattr(stamps.dt, "tz", None) is not None:
        stamps = stamps.dt.tz_convert("UTC").dt.tz_localize(None)
    return stamps.astype("datetime64[ns]")


def from_sdv_frame(
    sampled: pd.DataFrame, schema: TableSchema, rng: np.random.Generator
) -> pd.DataFrame:
    """Give SDV's output the real table's forms: dtypes, units, timezones, rebuilt columns."""
    n = len(sampled)
    out: dict[str, Any] = {}
    for spec in schema.columns:
        if spec.kind == ColumnKind.IDENTIFIER and rebuilt(spec):
            out[spec.name] = identifier_column(spec, 0, n, rng)
        elif spec.kind == ColumnKind.EMPTY:
            out[spec.name] = pd.Series([None] * n, dtype="object")
        elif spec.kind == ColumnKind.CONSTANT:
            out[spec.name] = pd.Series([spec.constant_value] * n)
        else:
            out[spec.name] = _restore_column(sampled[spec.name].reset_index(drop=True), spec)
    return pd.DataFrame(out)


def _restore_column(series: pd.Series, spec: ColumnSpec) -> pd.Series:
    kind = spec.kind
    if kind == ColumnKind.DATETIME:
        stamps = pd.to_datetime(series, errors="coerce").astype("datetime64[ns]")
        if spec.datetime_unit and spec.datetime_unit != "ns":
            stamps = stamps.dt.floor(spec.datetime_unit)
        if spec.timezone is not None:
            stamps = stamps.dt.tz_localize("UTC").dt.tz_convert(dates.tzinfo(spec.timezone))
        if spec.datetime_format is not None:
            return dates.write(stamps, spec.datetime_format, spec.timezone)
        return stamps
    if kind == ColumnKind.INTEGER:
        numbers = pd.to_numeric(series, errors="coerce").round()
        if "float" in spec.source_dtype:  # whole numbers with nulls, as read from a CSV
            return numbers.astype("float64")
        return numbers.astype("Int64" if numbers.isna().any() else "int64")
    if kind == ColumnKind.CONTINUOUS:
        numbers = pd.to_numeric(series, errors="coerce").astype("float64")
        return numbers.round(spec.decimals) if spec.decimals is not None else numbers
    if kind == ColumnKind.BOOLEAN:
        if series.isna().any():
            return series.astype("boolean")
        return series.astype(bool)
    return series
