"""Fresh primary-key values of the real key's type and shape, and key lookups.

Synthetic keys are never real ones copied: whole-number keys are numbered from the
real smallest key; text keys follow the real values' shape (``C-00042`` gives
``C-00001``...; two-letter codes give other two-letter codes) and are unique by
construction, not by drawing and hoping.
"""

from __future__ import annotations

import string
from collections import Counter

import numpy as np
import pandas as pd

from synthdata.engine.patterns import mask_of, parse_masks
from synthdata.relational.metadata import value_family

_CLASSES = {"A": string.ascii_uppercase, "a": string.ascii_lowercase, "9": string.digits}
_CODE_ROOM = 4  # a shape is used when it holds this many times the codes needed


def key_shape(values: pd.Series) -> dict[str, object]:
    """What `fresh_keys` needs to make keys like `values` (JSON-safe, saved in the model)."""
    present = values.dropna()
    if value_family(values) == "integer":
        start = int(present.min()) if len(present) else 1
        return {
            "type": "int",
            "start": max(start, 0),
            "float": bool(pd.api.types.is_float_dtype(values)),
        }
    text = present.astype(str)
    sample = text.iloc[:1000]
    prefix = sample.str.extract(r"^(\D*)")[0]
    digits = sample.str.extract(r"(\d+)$")[0]
    if len(sample) and prefix.nunique() == 1 and digits.notna().all():
        width = int(digits.str.len().max())
        return {"type": "prefix", "prefix": str(prefix.iloc[0]), "width": width}
    masks = Counter(mask_of(v) for v in sample)
    return {"type": "codes", "masks": [m for m, _ in masks.most_common(8) if m] or ["A"]}


def fresh_keys(shape: dict[str, object], count: int, rng: np.random.Generator) -> np.ndarray:
    """`count` distinct keys of `shape`."""
    kind = shape["type"]
    numbers = np.arange(1, count + 1, dtype=np.int64)
    if kind == "int":
        values = numbers - 1 + int(shape["start"])  # type: ignore[call-overload]
        return values.astype(np.float64) if shape.get("float") else values
    if kind == "prefix":
        width = int(shape["width"])  # type: ignore[call-overload]
        return np.array([f"{shape['prefix']}{n:0{width}d}" for n in numbers], dtype=object)
    for form in shape["masks"]:  # type: ignore[attr-defined]
        mask = parse_masks("pattern:" + str(form))[0]
        room = 1
        for token in mask:
            room *= len(_CLASSES.get(token, "x"))
        if room >= _CODE_ROOM * count:
            return _codes(
                mask,
                rng.choice(room, count, replace=False)
                if room < 2**62
                else _distinct(rng, room, count),
            )
    width = max(len(str(count)), 1)
    return np.array([f"K{n:0{width}d}" for n in numbers], dtype=object)


def _distinct(rng: np.random.Generator, room: int, count: int) -> np.ndarray:
    picked = np.unique(rng.integers(0, 2**62, size=count * 2))
    while len(picked) < count:  # astronomically rare
        picked = np.unique(np.concatenate([picked, rng.integers(0, 2**62, size=count)]))
    return rng.permutation(picked)[:count]


def _codes(mask: list[str], index: np.ndarray) -> np.ndarray:
    """The codes numbered `index` among all codes of `mask` (mixed-radix digits)."""
    columns = []
    rest = index.astype(np.int64)
    for token in reversed(mask):
        alphabet = _CLASSES.get(token)
        if alphabet is None:
            columns.append(np.full(len(index), token.lstrip("\\"), dtype=object))
            continue
        rest, digit = np.divmod(rest, len(alphabet))
        columns.append(np.array(list(alphabet), dtype=object)[digit])
    out = np.full(len(index), "", dtype=object)
    for column in reversed(columns):
        out = out + column
    return out


def normal_keys(frame: pd.DataFrame) -> pd.Index:
    """Key values comparable across tables (whole floats as integers, text as text),
    one index entry per row; several columns make a MultiIndex."""
    parts = {}
    for column in frame.columns:
        series = frame[column]
        if value_family(series) == "integer":
            parts[column] = series.astype("float64").astype("Int64")
        else:
            parts[column] = series.astype("string")
    normal = pd.DataFrame(parts)
    if normal.shape[1] == 1:
        return pd.Index(normal.iloc[:, 0])
    return pd.MultiIndex.from_frame(normal)


def parent_rows(child: pd.DataFrame, parent: pd.DataFrame) -> np.ndarray:
    """For each child row, the position of the parent row it references (-1: none)."""
    position = normal_keys(parent).get_indexer(normal_keys(child))
    incomplete = child.isna().any(axis=1).to_numpy()
    position[incomplete] = -1
    return position
