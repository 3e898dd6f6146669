"""Columns that are regenerated rather than learnt: identifiers and constants.

Identifiers are never copied from the real table: integer keys and prefixed keys
are numbered from the row's position in the output, other keys become UUIDs.
"""

from __future__ import annotations

import uuid

import numpy as np
import pandas as pd

from synthdata.engine.schema import ColumnKind, ColumnSpec


def identifier_column(
    spec: ColumnSpec, start: int, num_rows: int, rng: np.random.Generator
) -> pd.Series:
    """Unique keys for rows [start, start + num_rows) of the output."""
    numbers = np.arange(start + 1, start + num_rows + 1, dtype=np.int64)
    form = spec.identifier_format or "uuid"
    if form == "int":
        return pd.Series(numbers)
    if form.startswith("prefix:"):
        _, prefix, width = form.split(":", 2)
        return prefix + pd.Series(numbers).astype(str).str.zfill(int(width))
    bits = rng.integers(0, 2**63, size=(num_rows, 2), dtype=np.int64)
    return pd.Series([str(uuid.UUID(int=(int(a) << 64) | int(b), version=4)) for a, b in bits])


def constant_column(spec: ColumnSpec, num_rows: int, uniform: np.ndarray) -> pd.Series:
    """The constant value (or nulls for an all-null column), nulls at the learnt rate."""
    if spec.kind == ColumnKind.EMPTY or spec.constant_value is None:
        return pd.Series([None] * num_rows, dtype=object)
    value = spec.constant_value
    if spec.source_dtype.startswith("datetime"):
        value = pd.Timestamp(value)
    series = pd.Series([value] * num_rows)
    if spec.null_rate > 0:
        series = series.where(uniform[:num_rows] >= spec.null_rate, None)
    return series
