"""Finding primary and foreign keys from the tables themselves.

A primary key is a column (or, failing that, a pair of columns) whose values are
unique and never empty, holding whole numbers or text, preferably named like a key
(``id``, ``<table>_id``, ``..._code``). A foreign key is a child column whose values
(ignoring empties) lie in a parent's primary key: with a matching name (``plot_id``
in both, ``customer_id`` for table ``customers``) at least `NAMED_INCLUSION` of them,
and without one all of them and only for text keys (a column of small whole numbers
lies inside any integer key by chance). Links that would close a cycle are dropped.
"""

from __future__ import annotations

import re

import pandas as pd

from synthdata.relational._keys import normal_keys
from synthdata.relational.metadata import ForeignKey, Metadata, TableMeta, value_family

NAMED_INCLUSION = 0.9  # share of a named link's values found in the parent's key
_KEY_NAME = re.compile(r"(^id$|_id$|^id_|id$|_key$|_code$|^code$|_no$|_number$|_nr$)", re.I)


def detect_metadata(tables: dict[str, pd.DataFrame]) -> Metadata:
    """Primary keys, then foreign keys, found from uniqueness, inclusion and names."""
    metas = {
        name: TableMeta(primary_key=_primary_key(name, frame)) for name, frame in tables.items()
    }
    found: list[tuple[float, ForeignKey]] = []
    for child, frame in tables.items():
        for parent, meta in metas.items():
            if parent == child or not meta.primary_key:
                continue
            found += _links(child, frame, parent, tables[parent], meta.primary_key)
    found.sort(key=lambda item: -item[0])
    keys: list[ForeignKey] = []
    for _, fk in found:
        if any(fk.child == k.child and set(fk.columns) & set(k.columns) for k in keys):
            continue  # a column references one parent only: the best-supported one
        if not _reaches(keys, fk.parent, fk.child):
            keys.append(fk)
    # Declaration order: by child, the strongest link first (it becomes the primary link).
    keys.sort(key=lambda k: list(tables).index(k.child))
    return Metadata(metas, keys)


def _keyish(series: pd.Series) -> bool:
    return value_family(series) in ("integer", "text") and not pd.api.types.is_bool_dtype(series)


def _stem(name: str) -> str:
    """Table name without a plural ending: "customers" -> "customer", "species" stays."""
    lowered = name.lower()
    if lowered.endswith("ies") and len(lowered) > 4:
        return lowered[:-3] + "y"
    if lowered.endswith("s") and not lowered.endswith("ss") and not lowered.endswith("cies"):
        return lowered[:-1]
    return lowered


def _name_score(table: str, column: str) -> int:
    lowered = column.lower()
    stem = _stem(table)
    if lowered in ("id", f"{stem}_id", f"{stem}id", f"{table.lower()}_id"):
        return 3
    if lowered.startswith(stem) and _KEY_NAME.search(lowered):
        return 2
    return 1 if _KEY_NAME.search(lowered) else 0


def _primary_key(table: str, frame: pd.DataFrame) -> tuple[str, ...]:
    if frame.empty:
        return ()
    single = [
        c
        for c in frame.columns
        if _keyish(frame[c]) and frame[c].notna().all() and frame[c].is_unique
    ]
    named = [c for c in single if _name_score(table, str(c)) > 0]
    if named:
        best = max(named, key=lambda c: (_name_score(table, str(c)), -list(frame.columns).index(c)))
        return (str(best),)
    # A leading unique text or integer column not named like a key is still the key only
    # when it looks like one: integers counting rows, or text codes all of one length.
    if single and single[0] == frame.columns[0] and _looks_like_codes(frame[single[0]]):
        return (str(single[0]),)
    candidates = [
        c
        for c in frame.columns
        if _keyish(frame[c]) and frame[c].notna().all() and _KEY_NAME.search(str(c))
    ]
    for i, first in enumerate(candidates):
        for second in candidates[i + 1 :]:
            if not frame.duplicated([first, second]).any():
                return (str(first), str(second))
    return ()


def _looks_like_codes(series: pd.Series) -> bool:
    if value_family(series) == "integer":
        values = series.astype("int64")
        return bool(values.max() - values.min() + 1 == len(values))
    lengths = series.astype(str).str.len()
    return bool(lengths.nunique() == 1)


def _links(
    child: str, frame: pd.DataFrame, parent: str, parent_frame: pd.DataFrame, key: tuple[str, ...]
) -> list[tuple[float, ForeignKey]]:
    if len(key) > 1:  # a composite key is referenced by columns of the same names
        if not all(c in frame.columns for c in key):
            return []
        inclusion = _inclusion(frame[list(key)], parent_frame[list(key)])
        if inclusion >= NAMED_INCLUSION:
            return [(2.0 + inclusion, ForeignKey(child, key, parent, key))]
        return []
    target = parent_frame[key[0]]
    family = value_family(target)
    out = []
    for column in frame.columns:
        series = frame[column]
        if value_family(series) != family or series.notna().sum() == 0:
            continue
        named = _names_match(str(column), parent, key[0])
        if not named and family != "text":
            continue
        inclusion = _inclusion(series.to_frame(), target.to_frame())
        if (named and inclusion >= NAMED_INCLUSION) or inclusion == 1.0:
            out.append((float(named) + inclusion, ForeignKey(child, (str(column),), parent, key)))
    return out


def _names_match(column: str, parent: str, key: str) -> bool:
    lowered, stem = column.lower(), _stem(parent)
    if lowered == key.lower() and key.lower() != "id":
        return True
    return lowered in (f"{stem}_id", f"{stem}id", f"{parent.lower()}_id", f"{stem}_{key.lower()}")


def _inclusion(child: pd.DataFrame, parent: pd.DataFrame) -> float:
    """Share of the child's complete rows whose values are a parent key."""
    rows = child.dropna()
    if rows.empty:
        return 0.0
    return float(normal_keys(rows).isin(normal_keys(parent)).mean())


def _reaches(keys: list[ForeignKey], start: str, goal: str) -> bool:
    """Whether `goal` is an ancestor-or-self of `start` through `keys` (child -> parent)."""
    seen, todo = set(), [start]
    while todo:
        table = todo.pop()
        if table == goal:
            return True
        if table in seen:
            continue
        seen.add(table)
        todo += [k.parent for k in keys if k.child == table]
    return False
