"""Rare values: a category seen fewer than k times in the real table is never written.

A value that few real rows hold points at those rows (the one patient whose note names
her, the one town of 300 people); a model that learns it as a level writes it back in
about as many synthetic rows as it had real ones. Before any model sees the table,
every value of a categorical column that occurs fewer than `min_value_count` times
(k, default 5) is pooled into one level, `RARE_LEVEL`; the models learn how often and
with what a rare value occurs, never which one it was. When rows are sampled, each row
drawn with that level gets a replacement of the column's shape:

- "pattern:..." / "text:...": a fresh value of the rare values' own shape (see
  `engine.patterns`: the letters, digits and punctuation per position of codes and
  names; the word count of free text), drawn anew for every row, as the rare values
  were each held by few rows;
- "label:<text>": one generalised label ("other") where the shape leaves so few
  possible values (at most `MIN_SHAPE_SPACE`, e.g. three-character codes) that fresh
  values would often hit a real rare value by chance;
- "null": categories that are not text (numbers forced to be categorical) become
  missing rather than change the column's type.

What is kept, and saved in a model file, per column: how many values and rows were
pooled and the replacement form (shapes, never values). Booleans and numbers are not
categories and are not pooled. k = 1 turns the protection off.
"""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from synthdata.engine.defaults import DEFAULT_MIN_VALUE_COUNT
from synthdata.engine.errors import InputError
from synthdata.engine.keys import identifier_column
from synthdata.engine.patterns import parse_masks, text_format
from synthdata.engine.schema import ColumnKind, ColumnSpec, TableSchema

__all__ = [
    "DEFAULT_MIN_VALUE_COUNT",
    "MIN_VALUE_COUNT_ENV",
    "RARE_LEVEL",
    "RareColumn",
    "min_value_count",
    "pool_rare",
    "rare_report",
    "replace_rare",
]

MIN_VALUE_COUNT_ENV = "SYNTHDATA_MIN_VALUE_COUNT"
# The pooled level the models learn: text no table holds (it is never written out).
RARE_LEVEL = "\x00synthdata-rare"  # no trailing NUL: NumPy text arrays drop those
# Fresh values need a shape with more possible values than this (per mask), so that a
# draw equals a given real value with odds below one in a billion.
MIN_SHAPE_SPACE = 10**9
LABELS = ("other", "(other)", "[other]", "other value")
_CLASS_SIZES = {"A": 26, "a": 26, "9": 10}


@dataclass
class RareColumn:
    """What was pooled in one column: counts and the replacement form, never values."""

    column: str
    values: int  # distinct rare values pooled
    rows: int  # real rows that held one
    replacement: str  # "pattern:...", "text:...", "label:<text>" or "null"
    min_count: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RareColumn:
        return cls(
            str(data["column"]),
            int(data["values"]),
            int(data["rows"]),
            str(data["replacement"]),
            int(data["min_count"]),
        )


def min_value_count(given: int | None = None) -> int:
    """k: the argument, else `SYNTHDATA_MIN_VALUE_COUNT`, else `DEFAULT_MIN_VALUE_COUNT`."""
    source = "min_value_count"
    value: Any = given
    if value is None:
        value = os.environ.get(MIN_VALUE_COUNT_ENV) or DEFAULT_MIN_VALUE_COUNT
        source = MIN_VALUE_COUNT_ENV
    try:
        count = int(value)
    except (TypeError, ValueError):
        raise InputError(f"{source} must be a whole number (got {value!r})") from None
    if count < 1:
        raise InputError(f"{source} must be at least 1 (1 keeps every value; got {count})")
    return count


def pool_rare(
    frame: pd.DataFrame, schema: TableSchema, min_count: int
) -> tuple[pd.DataFrame, dict[str, RareColumn]]:
    """`frame` with each categorical value seen fewer than `min_count` times replaced by
    `RARE_LEVEL`, and what was pooled per column (only columns that had rare values)."""
    pooled: dict[str, RareColumn] = {}
    out = frame
    for spec in schema.columns:
        if spec.kind != ColumnKind.CATEGORICAL or spec.name not in frame.columns:
            continue
        column = frame[spec.name]
        counts = column.value_counts(dropna=True)
        rare = counts[counts < min_count]
        if rare.empty:
            continue
        if out is frame:
            out = frame.copy()
        hit = column.isin(rare.index).to_numpy()
        out[spec.name] = column.astype(object).where(~hit, RARE_LEVEL)
        replacement = _replacement(list(rare.index), list(counts.index))
        pooled[spec.name] = RareColumn(
            spec.name, len(rare), int(rare.sum()), replacement, min_count
        )
    return out, pooled


def replace_rare(
    frame: pd.DataFrame,
    pooled: dict[str, RareColumn],
    schema: TableSchema,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Swap `RARE_LEVEL` in sampled rows for each column's replacement.

    Fresh values are drawn for every row of the frame (then used where the level is),
    so the first m rows are the same whatever the frame's length, as sampling needs.
    """
    for name, rare in pooled.items():
        if name not in frame.columns:
            continue
        column = frame[name]
        hit = (column.astype(object) == RARE_LEVEL).to_numpy()
        frame[name] = _replaced(column, hit, rare, schema[name], rng)
    return frame


def _replaced(
    column: pd.Series, hit: np.ndarray, rare: RareColumn, spec: ColumnSpec, rng: np.random.Generator
) -> pd.Series:
    form = rare.replacement
    categorical = isinstance(column.dtype, pd.CategoricalDtype)
    if categorical and RARE_LEVEL in column.cat.categories:
        if form.startswith("label:"):
            return column.cat.rename_categories({RARE_LEVEL: form.removeprefix("label:")})
        if not hit.any() or form == "null":
            return column.cat.remove_categories([RARE_LEVEL])
    if form == "null":
        return column.astype(object).where(~hit, None)
    if form.startswith("label:"):
        return column.astype(object).where(~hit, form.removeprefix("label:"))
    shaped = ColumnSpec(spec.name, ColumnKind.IDENTIFIER, identifier_format=form)
    fresh = identifier_column(shaped, 0, len(column), rng).to_numpy(dtype=object)
    values = column.astype(object).to_numpy(copy=True)
    values[hit] = fresh[hit]
    return pd.Series(values, index=column.index, dtype=object)


def _replacement(rare: list[Any], every: list[Any]) -> str:
    """The replacement form for a column's rare values (see the module docstring)."""
    if not all(isinstance(v, str) for v in rare):
        return "null"
    form = text_format(rare[:1000])
    if form.startswith("text:") or _shape_space(form) > MIN_SHAPE_SPACE:
        return form
    taken = {str(v) for v in every}
    label = next((c for c in LABELS if c not in taken), None)
    for number in range(2, 1000):
        if label is not None:
            break
        label = f"other {number}" if f"other {number}" not in taken else None
    return f"label:{label}"


def _shape_space(form: str) -> float:
    """How many values the least varied mask of a "pattern:" form can make."""
    sizes = [math.prod(_CLASS_SIZES.get(token, 1) for token in mask) for mask in parse_masks(form)]
    return float(min(sizes)) if sizes else 0.0


def rare_report(
    real: pd.DataFrame, synthetic: pd.DataFrame, schema: TableSchema, min_count: int
) -> dict[str, dict[str, int]]:
    """Per categorical column: the real values seen fewer than `min_count` times
    (`rare_values`, in `rare_rows` rows), how many of them the synthetic table holds
    verbatim (`emitted_verbatim`, in `synthetic_rows` rows) and `protected` (the rest).

    Measured on the tables, not taken from the model: it holds for any generator.
    """
    report: dict[str, dict[str, int]] = {}
    for spec in schema.columns:
        if spec.kind != ColumnKind.CATEGORICAL or spec.name not in synthetic.columns:
            continue
        counts = real[spec.name].value_counts(dropna=True)
        rare = counts[counts < min_count]
        if rare.empty:
            continue
        fake = synthetic[spec.name].astype(object)
        keys = pd.Index([str(v) for v in rare.index])
        written = fake.dropna().astype(str)
        hit = written[written.isin(keys)]
        emitted = int(hit.nunique())
        report[spec.name] = {
            "rare_values": len(rare),
            "rare_rows": int(rare.sum()),
            "emitted_verbatim": emitted,
            "synthetic_rows": len(hit),
            "protected": len(rare) - emitted,
        }
    return report
