"""Columns that are regenerated rather than learnt: identifiers, codes, text, constants.

Values of these columns are never copied from the real table. An identifier's
`identifier_format` says how new values are made:

- "int": keys numbered from the row's position in the output;
- "prefix:<text>:<width>": the same, after a fixed prefix, zero-padded ("C-00042");
- "uuid": random version-4 UUIDs;
- "pattern:<mask>|<mask>...": codes and names of the real values' shape; each mask
  holds one character class per position ("A" an upper-case letter, "a" a lower-case
  letter, "9" a digit, any other character itself, "\\" before a literal A, a, 9, | or
  \\), and each row draws one mask, then random characters of its classes, so "00M"
  gives codes like "47K" and "AB-1234" gives codes like "QZ-0381";
- "text:<min words>:<max words>": free text becomes placeholder text (Latin filler
  words) with a word count in the real range; the real text is never written.

A column of personal data (its `pii` set, see `engine.pii`) with a "pattern:" or
"ip:" format is made by `engine.pii.pii_column` instead: realistic fakes of the same
shapes (names from Faker's lists, valid check digits).
"""

from __future__ import annotations

import string
import uuid

import numpy as np
import pandas as pd

from synthdata.engine.patterns import parse_masks
from synthdata.engine.pii.columns import is_made_by_faker, pii_column
from synthdata.engine.schema import ColumnKind, ColumnSpec

_CLASSES = {
    "A": np.array(list(string.ascii_uppercase)),
    "a": np.array(list(string.ascii_lowercase)),
    "9": np.array(list(string.digits)),
}
_FILLER_TEXT = (
    "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor "
    "incididunt ut labore et dolore magna aliqua enim ad minim veniam quis nostrud "
    "exercitation ullamco laboris nisi aliquip ex ea commodo consequat"
)
_FILLER = np.array(_FILLER_TEXT.split())


def identifier_column(
    spec: ColumnSpec, start: int, num_rows: int, rng: np.random.Generator
) -> pd.Series:
    """Values for rows [start, start + num_rows) of the output.

    Draws come from a child of `rng` (spawning does not depend on what `rng` has
    drawn already), one row at a time, so the first m rows are the same for any
    `num_rows` >= m.
    """
    rng = rng.spawn(1)[0]
    if is_made_by_faker(spec):
        return pii_column(spec, num_rows, rng)
    numbers = np.arange(start + 1, start + num_rows + 1, dtype=np.int64)
    form = spec.identifier_format or "uuid"
    if form == "int":
        return pd.Series(numbers)
    if form.startswith("prefix:"):
        _, prefix, width = form.split(":", 2)
        return prefix + pd.Series(numbers).astype(str).str.zfill(int(width))
    if form.startswith("pattern:"):
        masks = parse_masks(form)
        uniform = rng.random((num_rows, 2 + max(len(m) for m in masks)))
        return _with_nulls(_pattern_values(masks, uniform[:, 1:]), uniform[:, 0], spec)
    if form.startswith("text:"):
        _, low, high = form.split(":")
        uniform = rng.random((num_rows, 2 + int(high)))
        values = _filler_text(int(low), int(high), uniform[:, 1:])
        return _with_nulls(values, uniform[:, 0], spec)
    bits = rng.integers(0, 2**63, size=(num_rows, 2), dtype=np.int64)
    return pd.Series([str(uuid.UUID(int=(int(a) << 64) | int(b), version=4)) for a, b in bits])


def _pattern_values(masks: list[list[str]], uniform: np.ndarray) -> np.ndarray:
    """One mask per row (first column of `uniform`), then one character per position."""
    out = np.empty(len(uniform), dtype=object)
    chosen = np.minimum((uniform[:, 0] * len(masks)).astype(np.int64), len(masks) - 1)
    for index, mask in enumerate(masks):
        rows = np.flatnonzero(chosen == index)
        if not len(rows):
            continue
        chars = np.empty((len(rows), len(mask)), dtype="<U1")
        for position, token in enumerate(mask):
            alphabet = _CLASSES.get(token)
            if alphabet is None:
                chars[:, position] = token[-1]  # a literal (escaped or not)
                continue
            draws = uniform[rows, 1 + position]
            chars[:, position] = alphabet[(draws * len(alphabet)).astype(np.int64)]
        out[rows] = chars.view(f"<U{len(mask)}").ravel()
    return out


def _filler_text(low: int, high: int, uniform: np.ndarray) -> np.ndarray:
    """Filler sentences of `low` to `high` words; the first word capitalised."""
    counts = low + np.minimum((uniform[:, 0] * (high - low + 1)).astype(np.int64), high - low)
    picks = (uniform[:, 1 : high + 1] * len(_FILLER)).astype(np.int64)
    words = _FILLER[np.minimum(picks, len(_FILLER) - 1)].tolist()
    text = [" ".join(row[:count]).capitalize() for row, count in zip(words, counts, strict=True)]
    return np.asarray(text, dtype=object)


def _with_nulls(values: np.ndarray, uniform: np.ndarray, spec: ColumnSpec) -> pd.Series:
    series = pd.Series(values, dtype=object)
    if spec.null_rate > 0:
        series = series.where(uniform >= spec.null_rate, None)
    return series


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
