"""Schema inference: what kind of data each column holds and how to rebuild it.

The schema is plain data (dataclasses that round-trip through JSON) so that it
can be shown to a user, overridden, and saved inside a model file.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from synthdata.engine import dates
from synthdata.engine.errors import InputError
from synthdata.engine.kinds import ColumnKind as ColumnKind
from synthdata.engine.patterns import identifier_format, is_free_text, text_sample
from synthdata.engine.pii.columns import settle as settle_pii
from synthdata.engine.pii.kinds import DEFAULT_LOCALE, parse_treatment

DISCRETE_NUMERIC_LEVELS = 64
# A text column whose non-null values are at least this share distinct (and that has at
# least MIN_TEXT_DISTINCT of them) holds names, codes or free text, not categories:
# copying its values would copy the real rows, so they are regenerated (see `keys`).
TEXT_DISTINCT_SHARE = 0.9
MIN_TEXT_DISTINCT = 5
# Free text (sentences) is regenerated when at least this share of it is distinct.
FREE_TEXT_DISTINCT_SHARE = 0.5
_MAX_DECIMALS = 6


@dataclass
class ColumnSpec:
    """One column: its kind plus what is needed to write values of the same form."""

    name: str
    kind: ColumnKind
    null_rate: float = 0.0
    decimals: int | None = None  # continuous: round to this many decimals
    timezone: str | None = None  # datetime: IANA name or fixed offset ("+02:00"); None: naive
    datetime_unit: str | None = None  # datetime: coarsest unit all values are a multiple of
    datetime_format: str | None = None  # datetime written as text: its strftime format
    # identifier: "int", "uuid", "prefix:<text>:<width>", "pattern:<masks>" or
    # "text:<min words>:<max words>" (see engine.keys)
    identifier_format: str | None = None
    constant_value: Any = None  # constant: the single value
    source_dtype: str = ""
    # Personal data (engine.pii): the PiiKind value found or given, None for none; with
    # `pii_keep` the user chose to keep the real values; `pii_locale` names the Faker
    # locale of the fakes. Older model files have none of these: no PII treatment.
    pii: str | None = None
    pii_keep: bool = False
    pii_locale: str | None = None

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
    frame: pd.DataFrame,
    overrides: dict[str, str | ColumnKind] | None = None,
    *,
    date_formats: dict[str, str] | None = None,
    pii: Mapping[str, str] | None = None,
    detect_pii: bool = True,
    pii_locale: str = DEFAULT_LOCALE,
) -> TableSchema:
    """Infer the kind of every column of `frame`, and which hold personal data.

    `overrides` maps a column name to a `ColumnKind` value (e.g. ``{"zip": "categorical"}``)
    and wins over inference. `date_formats` maps a column name to the strftime format
    its text is written in (e.g. ``{"day": "%d/%m/%Y"}``): the column is a date-time,
    read and written in that format. Column names are kept as text (``0`` is "0").
    `pii` maps a column to a PII kind or "keep" (see `engine.pii.PiiKind`) and wins
    over detection, which `detect_pii` turns off; fakes come from `pii_locale`.
    """
    if frame.shape[1] == 0:
        raise InputError("the table has no columns")
    if len({str(c) for c in frame.columns}) != frame.shape[1]:
        raise InputError("the table has duplicate column names")
    overrides = dict(overrides or {})
    date_formats = dict(date_formats or {})
    treatments = {name: parse_treatment(name, value) for name, value in (pii or {}).items()}
    known = {str(c) for c in frame.columns}
    unknown = (set(overrides) | set(date_formats) | set(treatments)) - known
    if unknown:
        raise InputError(f"override for unknown column(s): {', '.join(sorted(unknown))}")
    columns = []
    for name in frame.columns:
        forced = overrides.get(str(name))
        kind = _parse_kind(forced) if forced is not None else None
        fmt = date_formats.get(str(name))
        if fmt is not None:
            if kind not in (None, ColumnKind.DATETIME):
                raise InputError(
                    f"column {str(name)!r}: a date format was given, but its type is {kind}"
                )
            kind = ColumnKind.DATETIME
        spec = _infer_column(str(name), frame[name], kind, fmt)
        settle_pii(
            spec,
            frame[name].dropna(),
            given=treatments.get(str(name)),
            detect=detect_pii,
            locale=pii_locale,
        )
        columns.append(spec)
    return TableSchema(columns)


def _parse_kind(value: str | ColumnKind) -> ColumnKind:
    try:
        return ColumnKind(value)
    except ValueError:
        allowed = ", ".join(k.value for k in ColumnKind)
        raise InputError(f"unknown column type {value!r} (expected one of: {allowed})") from None


def _infer_column(
    name: str, series: pd.Series, forced: ColumnKind | None, date_format: str | None = None
) -> ColumnSpec:
    n = len(series)
    nulls = int(series.isna().sum())
    spec = ColumnSpec(
        name=name,
        kind=ColumnKind.EMPTY,
        null_rate=nulls / n if n else 0.0,
        source_dtype=str(series.dtype),
    )
    values = series.dropna()
    spec.datetime_format = date_format
    if forced is None:
        forced = _guess_kind(series, values, spec)
    spec.kind = forced
    _fill_details(spec, series, values, date_format)
    return spec


def _guess_kind(series: pd.Series, values: pd.Series, spec: ColumnSpec) -> ColumnKind:
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
    # Text (plain or already dictionary-encoded).
    uniques = values.cat.categories if isinstance(dtype, pd.CategoricalDtype) else values.unique()
    if len(uniques) <= 8 and {str(v).strip().lower() for v in uniques} <= {"true", "false"}:
        return ColumnKind.BOOLEAN
    fmt = dates.detect_format(values)
    if fmt is not None:
        spec.datetime_format = fmt
        return ColumnKind.DATETIME
    if distinct >= MIN_TEXT_DISTINCT:
        share = distinct / len(values)
        if share >= TEXT_DISTINCT_SHARE or (
            share >= FREE_TEXT_DISTINCT_SHARE and is_free_text(text_sample(values))
        ):
            return ColumnKind.IDENTIFIER
    return ColumnKind.CATEGORICAL


def _looks_like_key(name: object, values: pd.Series) -> bool:
    """A unique integer column is a key when its name says so or it is a dense run."""
    label = str(name).lower()
    if label == "id" or label.endswith(("_id", "id", "_key", "_no", "_number")):
        return True
    span = float(values.max()) - float(values.min()) + 1
    return span <= 1.5 * len(values)


def _fill_details(
    spec: ColumnSpec, series: pd.Series, values: pd.Series, date_format: str | None
) -> None:
    kind = spec.kind
    if kind == ColumnKind.CONSTANT and not values.empty:
        value = values.iloc[0]
        spec.constant_value = value.item() if isinstance(value, np.generic) else value
        if isinstance(value, pd.Timestamp):
            spec.constant_value = value.isoformat()
    elif kind == ColumnKind.CONTINUOUS:
        spec.decimals = _decimals(values)
    elif kind == ColumnKind.DATETIME:
        _datetime_details(spec, values, date_format)
    elif kind == ColumnKind.IDENTIFIER:
        spec.identifier_format = identifier_format(values)
    if kind != ColumnKind.DATETIME:
        spec.datetime_format = None


def _decimals(values: pd.Series) -> int | None:
    floats = values.to_numpy(dtype="float64")
    sample = floats[:100_000]
    for decimals in range(_MAX_DECIMALS + 1):
        if np.allclose(np.round(sample, decimals), sample, rtol=0, atol=1e-9):
            return decimals
    return None


def _datetime_details(spec: ColumnSpec, values: pd.Series, given: str | None) -> None:
    """Timezone, unit and (for text) written format of a date-time column.

    `given` is the user's format; a format found by `_guess_kind` is already in `spec`.
    """
    is_text = not (
        pd.api.types.is_datetime64_any_dtype(values.dtype)
        or pd.api.types.is_numeric_dtype(values.dtype)
        or isinstance(values.dtype, pd.ArrowDtype)
    )
    fmt = given or spec.datetime_format or (dates.detect_format(values) if is_text else None)
    if fmt is not None and is_text:
        # A detected format reads every value already; a given one is checked here.
        bad = dates.unreadable(values, fmt) if given is not None else None
        if bad is not None:
            raise InputError(
                f"column {spec.name!r}: {bad!r} is not a date/time in the format {fmt!r}"
            )
        stamps = dates.parse(values, fmt)
        spec.timezone = dates.fixed_offset(values, fmt)
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # pandas guessing a format
            stamps = pd.to_datetime(values, utc=False, errors="coerce")
        if stamps.isna().all():
            raise InputError(
                f"column {spec.name!r}: no value could be read as a date/time "
                "(give its format with --date-format COLUMN=FORMAT, e.g. %d/%m/%Y)"
            )
        tz = getattr(stamps.dt, "tz", None)
        spec.timezone = str(tz) if tz is not None else None
    spec.datetime_format = fmt
    spec.datetime_unit = dates.coarsest_unit(stamps)
