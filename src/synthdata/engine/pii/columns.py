"""A PII column in the schema (`settle`) and at sample time (`pii_column`).

How a column of personal data is treated depends on how it would otherwise be made:
- a column that would be learnt value by value from the real rows (numbers, dates,
  codes) becomes an identifier made at sample time from its shapes alone
  (`shapes.column_format`): the model file holds masks such as "Aaaa Aaaaaa", never
  a real value;
- a categorical or constant column keeps its frequencies and its links to the other
  columns, but its values are swapped for fakes before fitting (`protect`), so the
  model learns and stores only fakes;
- free text already made of filler words stays so; categorical free text has only
  its PII spans swapped.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from synthdata.engine.kinds import ColumnKind
from synthdata.engine.patterns import parse_masks, text_sample
from synthdata.engine.pii.detect import detect_column
from synthdata.engine.pii.fakes import fake_from_mask, fake_ip, region_of
from synthdata.engine.pii.kinds import DEFAULT_LOCALE, KEEP, PiiKind, describe_treatment
from synthdata.engine.pii.shapes import column_format

if TYPE_CHECKING:
    from synthdata.engine.schema import ColumnSpec

_LEARNT_VALUE_BY_VALUE = (ColumnKind.CATEGORICAL, ColumnKind.CONSTANT, ColumnKind.EMPTY)


def settle(
    spec: ColumnSpec,
    values: pd.Series,
    *,
    given: str | None = None,
    detect: bool = True,
    locale: str = DEFAULT_LOCALE,
) -> None:
    """Record `spec`'s PII kind and treatment: the user's (`given`, a kind or "keep"),
    else what detection finds in `values` (the column's non-null values)."""
    if given is not None and given != KEEP:
        kind: PiiKind | None = PiiKind(given)
    elif detect:
        kind = detect_column(spec.name, values, region_of(locale))
    else:
        kind = None
    spec.pii = kind.value if kind is not None else None
    spec.pii_keep = given == KEEP
    spec.pii_locale = locale if kind is not None and not spec.pii_keep else None
    if kind is None or spec.pii_keep or kind == PiiKind.TEXT:
        return
    if spec.kind in _LEARNT_VALUE_BY_VALUE:
        return  # its values are swapped for fakes before fitting (see `protect`)
    spec.kind = ColumnKind.IDENTIFIER
    spec.decimals = spec.timezone = spec.datetime_unit = spec.datetime_format = None
    shapes = [value.strip() for value in text_sample(values)]
    spec.identifier_format = column_format(kind, shapes, locale)


def is_replaced(spec: ColumnSpec) -> bool:
    """Whether the column's real values are replaced by fakes."""
    return spec.pii is not None and not spec.pii_keep


def is_made_by_faker(spec: ColumnSpec) -> bool:
    """Whether the column is made at sample time by `pii_column` (not from `keys`)."""
    return (
        is_replaced(spec)
        and spec.pii != PiiKind.TEXT
        and spec.kind == ColumnKind.IDENTIFIER
        and (spec.identifier_format or "").startswith(("pattern:", "ip:"))
    )


def treatment(spec: ColumnSpec) -> str:
    """How the column is treated, in words, for `synthdata inspect` and reports."""
    return describe_treatment(spec.pii, spec.pii_keep, spec.kind == ColumnKind.IDENTIFIER)


def pii_column(spec: ColumnSpec, num_rows: int, rng: np.random.Generator) -> pd.Series:
    """`num_rows` fakes of the column's kind and shapes, nulls at the learnt rate.

    Rows are drawn in order from one stream seeded by `rng`, so the first m rows are
    the same for any `num_rows` >= m; a column stored as whole numbers (an SSN read as
    a number) stays so.
    """
    null_rng, value_rng = rng.spawn(2)
    draw = random.Random(int(value_rng.integers(0, 2**63)))
    kind = PiiKind(spec.pii or PiiKind.TEXT)  # callers check `is_made_by_faker` first
    locale = spec.pii_locale or DEFAULT_LOCALE
    form = spec.identifier_format or "pattern:a"
    if form.startswith("ip:"):
        v6_share = float(form.split(":", 1)[1])
        values = [fake_ip(6 if draw.random() < v6_share else 4, draw) for _ in range(num_rows)]
    else:
        masks = parse_masks(form)
        values = [
            fake_from_mask(kind, masks[draw.randrange(len(masks))], draw, locale)
            for _ in range(num_rows)
        ]
    series = pd.Series(values, dtype=object)
    if spec.source_dtype.startswith(("int", "Int", "uint", "UInt")):
        series = pd.to_numeric(series.str.replace(r"\D", "", regex=True), errors="coerce")
        series = series.astype("Int64")
    if spec.null_rate > 0:
        series = series.where(null_rng.random(num_rows) >= spec.null_rate, None)
    return series
