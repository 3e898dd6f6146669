"""The shape of text values that are regenerated, not copied: codes, names, free text.

Schema inference learns the shape from the real values (see `text_format`), and
`keys.identifier_column` draws new values of that shape. What a shape keeps of the
real table: value lengths, the positions of letters and digits, and punctuation
(the "@" and "." of e-mail addresses); for free text, only the range of word counts.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd

SHAPE_SAMPLE = 1000  # distinct values a text shape is learnt from
MAX_MASKS = 16  # the most common shapes kept for a pattern
MAX_WORDS = 50  # longest free text kept, in words
# Free text: values with at least this many words (median) or characters.
TEXT_WORDS = 4
TEXT_CHARS = 40
_SPECIAL = set("Aa9|\\")


def is_free_text(values: list[str]) -> bool:
    """Whether text values are sentences rather than names or codes."""
    if not values:
        return False
    words = float(np.median([len(v.split()) for v in values]))
    chars = float(np.median([len(v) for v in values]))
    return words >= TEXT_WORDS or chars >= TEXT_CHARS


def text_format(values: list[str]) -> str:
    """The "pattern:..." or "text:..." form that regenerates values like `values`."""
    if is_free_text(values):
        counts = [len(v.split()) for v in values]
        return f"text:{max(1, min(counts))}:{min(max(counts), MAX_WORDS)}"
    shapes = Counter(mask_of(v) for v in values)
    masks = [mask for mask, _ in shapes.most_common(MAX_MASKS) if mask]
    return "pattern:" + "|".join(masks or ["a"])


def mask_of(value: str) -> str:
    """The character classes of `value`, position by position ("AB-12" -> "AA-99")."""
    out = []
    for char in value:
        if char.isdecimal():
            out.append("9")
        elif char.isalpha():
            out.append("A" if char.isupper() else "a")
        else:
            out.append("\\" + char if char in _SPECIAL else char)
    return "".join(out)


def parse_masks(form: str) -> list[list[str]]:
    """The masks of a "pattern:" form, each as a list of tokens (classes or literals)."""
    masks: list[list[str]] = [[]]
    chars = iter(form.removeprefix("pattern:"))
    for char in chars:
        if char == "\\":
            masks[-1].append("\\" + next(chars, "\\"))
        elif char == "|":
            masks.append([])
        else:
            masks[-1].append(char)
    return [mask for mask in masks if mask] or [["a"]]


def identifier_format(values: pd.Series) -> str:
    """How to regenerate an identifier column: "int", "uuid", "prefix:..." or a text shape."""
    if pd.api.types.is_numeric_dtype(values.dtype):
        return "int"
    text = values.astype(str)
    sample = text.iloc[:1000]
    unique = values.nunique() == len(values)
    if sample.str.fullmatch(
        r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
        r"[0-9a-fA-F]{12}"
    ).all():
        return "uuid"
    prefix = sample.str.extract(r"^(\D*)")[0]
    digits = sample.str.extract(r"(\d+)$")[0]
    # Numbering from 1 suits keys; a column with repeats (ZIP codes) keeps its shape.
    if unique and prefix.nunique() == 1 and digits.notna().all():
        width = int(digits.str.len().max())
        return f"prefix:{prefix.iloc[0]}:{width}"
    return text_format(text_sample(values))


def text_sample(values: pd.Series) -> list[str]:
    """Up to `SHAPE_SAMPLE` distinct values of a text column, as stripped strings."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        uniques = values.cat.remove_unused_categories().cat.categories
    else:
        uniques = pd.Index(values.unique())
    return [str(v) for v in uniques[:SHAPE_SAMPLE]]
