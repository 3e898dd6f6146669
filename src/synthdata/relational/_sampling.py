"""Sampling one table of a dataset, parents first.

A root table draws its rows from its model. A child table repeats each synthetic
row of its primary parent as many times as that row's number of children and
draws its own columns given the parent's columns, in chunks. Its model also draws
a few columns of each other parent; each row then gets such a parent row with those
values where one has room (`_matching`), and a row that got a parent with other
values is drawn again given the parents it has. Keys are made, never modelled:
primary keys fresh, foreign keys copied from the parent rows chosen, so every
foreign key joins.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from synthdata.engine.base import CHUNK_ROWS
from synthdata.engine.chain import ChainSynthesizer
from synthdata.relational._counts import drawn_counts, ones_to_total, real_counts, to_total
from synthdata.relational._fitting import TablePlan, count_column, link_column
from synthdata.relational._keys import fresh_keys
from synthdata.relational._matching import match_parents
from synthdata.relational.metadata import ForeignKey, Metadata


def sample_table(
    plan: TablePlan,
    model: ChainSynthesizer | None,
    metadata: Metadata,
    done: dict[str, pd.DataFrame],
    scale: float,
    seed: int,
) -> pd.DataFrame:
    """The synthetic table `plan.name`, with its count columns (for its children);
    its parents are in `done`."""
    rng = np.random.default_rng(seed)
    parents = metadata.parents_of(plan.name)
    parents.sort(key=lambda fk: fk.label != plan.primary)  # the primary link first
    chosen: dict[str, np.ndarray] = {}
    if not parents:
        rows = round(plan.rows * scale)
        if model is None:
            frame = _no_columns(rows)
        elif plan.lead and model_first(model) == plan.lead[:1]:
            frame = _reference_rows(plan, model, rows, rng, seed)
        else:
            frame = model.sample(rows, seed=seed)
    else:
        primary = parents[0]
        position = _family_rows(plan, metadata, primary, done[primary.parent], rng)
        frame = _draw_children(plan, model, primary, done[primary.parent], position, seed)
        linked = np.arange(len(position)) < len(position) - _orphans(plan, primary, position)
        chosen[primary.label] = np.where(linked, position, -1)
        again = np.zeros(len(frame), dtype=bool)
        for fk in parents[1:]:
            chosen[fk.label], mismatched = _match(frame, done[fk.parent], fk, plan, rng)
            again |= mismatched
        if model is not None and again.any():
            _draw_again(frame, model, np.flatnonzero(again), seed)
        frame = frame.drop(columns=[c for c in model_first(model) if c in frame.columns])
    for fk in parents:
        _copy_keys(frame, fk, done[fk.parent], chosen[fk.label], plan)
    _make_keys(frame, plan, metadata, rng)
    key = list(metadata.tables[plan.name].primary_key)
    if key and not plan.key_shapes:  # a key made only of foreign keys (a link table)
        frame = frame[~frame.duplicated(key)].reset_index(drop=True)  # each pair once
    for fk in metadata.children_of(plan.name):
        if fk.label in plan.counts and count_column(fk) in frame.columns:
            counts = drawn_counts(frame, fk)
            frame[count_column(fk)] = real_counts(counts, plan.counts[fk.label], rng)
    return frame


def model_first(model: ChainSynthesizer | None) -> list[str]:
    """The parent columns a child's model starts with (primary link's, then the others')."""
    return list(model.options["first"]) if model is not None else []


def _reference_rows(
    plan: TablePlan, model: ChainSynthesizer, rows: int, rng: np.random.Generator, seed: int
) -> pd.DataFrame:
    """A reference table's rows: its leading column takes the real values in their real
    shares (the value at each evenly spaced quantile, in random order), not `rows`
    independent draws, which would repeat one promotion kind and drop another; the
    other columns are drawn given it."""
    column, values = plan.lead
    if not rows:
        return model.sample(0, seed=seed)
    index = ((np.arange(rows) + 0.5) / rows * len(values)).astype(np.int64)
    given = pd.DataFrame({column: rng.permutation(np.asarray(values, dtype=object)[index])})
    return model.sample_after(given.infer_objects(), seed=seed)


def _no_columns(rows: int) -> pd.DataFrame:
    return pd.DataFrame(index=range(rows))


def _family_rows(
    plan: TablePlan,
    metadata: Metadata,
    fk: ForeignKey,
    parent: pd.DataFrame,
    rng: np.random.Generator,
) -> np.ndarray:
    """The primary parent row of each child row to draw: each parent row as many times
    as its number of children, then the rows that will have no parent (at the end)."""
    counts = drawn_counts(parent, fk)
    total = plan.per_parent * len(parent)
    if set(fk.columns) == set(metadata.tables[plan.name].primary_key):
        counts = ones_to_total(np.minimum(counts, 1), total, rng)  # one-to-one
    else:
        counts = to_total(counts, total, rng)
    position = np.repeat(np.arange(len(parent)), counts)
    share = plan.unlinked.get(fk.label, 0.0)
    if 0 < share < 1 and len(parent):  # rows without a parent, as in the real table:
        orphans = round(len(position) * share / (1 - share))  # drawn given a random one
        position = np.concatenate([position, rng.integers(0, len(parent), orphans)])
    return position


def _orphans(plan: TablePlan, fk: ForeignKey, position: np.ndarray) -> int:
    share = plan.unlinked.get(fk.label, 0.0)
    if not 0 < share < 1:
        return 0
    return len(position) - round(len(position) * (1 - share))


def _draw_children(
    plan: TablePlan,
    model: ChainSynthesizer | None,
    fk: ForeignKey,
    parent: pd.DataFrame,
    position: np.ndarray,
    seed: int,
) -> pd.DataFrame:
    """Child rows drawn given their primary parent rows, a chunk at a time."""
    if model is None:
        return _no_columns(len(position))
    if not model_first(model):  # nothing of the parent to draw given (it has only keys)
        return model.sample(len(position), seed=seed)
    names = [link_column(fk, c) for c in plan.given]
    parts = []
    for block, start in enumerate(range(0, len(position), CHUNK_ROWS)):
        given = parent[plan.given].iloc[position[start : start + CHUNK_ROWS]]
        given = given.set_axis(names, axis=1).reset_index(drop=True)
        chunk_seed = int(np.random.SeedSequence([seed, block]).generate_state(1)[0])
        parts.append(model.sample_after(given, seed=chunk_seed, block=block))
    if not parts:
        return model.sample(0)
    return pd.concat(parts, ignore_index=True)


def _match(
    frame: pd.DataFrame,
    parent: pd.DataFrame,
    fk: ForeignKey,
    plan: TablePlan,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Parent rows of a further link, and which child rows got one whose columns differ
    from those drawn (their link columns now hold the parent's actual values)."""
    columns = plan.matched.get(fk.label, [])
    names = [link_column(fk, c) for c in columns]
    unlinked = plan.unlinked.get(fk.label, 0.0)
    linked = rng.random(len(frame)) >= unlinked if unlinked > 0 else np.ones(len(frame), bool)
    counts = to_total(drawn_counts(parent, fk), int(linked.sum()), rng)
    position, matched = np.full(len(frame), -1), np.ones(len(frame), dtype=bool)
    position[linked], matched[linked] = match_parents(
        frame.loc[linked, names], parent[columns], counts, rng
    )
    mismatched = ~matched & (position >= 0)
    if mismatched.any() and names:
        rows = np.flatnonzero(mismatched)
        actual = parent[columns].iloc[position[rows]]
        for name, column in zip(names, columns, strict=True):
            _set_rows(frame, name, rows, actual[column])
    return position, mismatched


def _draw_again(frame: pd.DataFrame, model: ChainSynthesizer, rows: np.ndarray, seed: int) -> None:
    """Draw the own columns of `rows` again given all their parents' columns."""
    first = model_first(model)
    own = [c for c in frame.columns if c not in first]
    for block, start in enumerate(range(0, len(rows), CHUNK_ROWS)):
        chunk = rows[start : start + CHUNK_ROWS]
        given = frame[first].iloc[chunk].reset_index(drop=True)
        chunk_seed = int(np.random.SeedSequence([seed, 1, block]).generate_state(1)[0])
        drawn = model.sample_after(given, seed=chunk_seed, block=block)
        for column in own:
            _set_rows(frame, column, chunk, drawn[column])


def _set_rows(frame: pd.DataFrame, column: str, rows: np.ndarray, values: pd.Series) -> None:
    """`frame[column]` with `values` at positions `rows`: numbers stay numbers; other
    columns (categories, dates) become plain values, as `sample` returns them anyway."""
    current = frame[column]
    plain = isinstance(current.dtype, np.dtype) and isinstance(values.dtype, np.dtype)
    if plain and current.dtype.kind in "biuf" and values.dtype.kind in "biuf":
        out = current.to_numpy(dtype=np.result_type(current.dtype, values.dtype), copy=True)
        out[rows] = values.to_numpy()
    else:
        out = current.astype(object).to_numpy()
        out[rows] = values.astype(object).to_numpy()
    frame[column] = out


def _copy_keys(
    frame: pd.DataFrame, fk: ForeignKey, parent: pd.DataFrame, position: np.ndarray, plan: TablePlan
) -> None:
    linked = position >= 0
    for mine, theirs in zip(fk.columns, fk.parent_columns, strict=True):
        source = parent[theirs].to_numpy()
        if linked.all():
            frame[mine] = source[position]
            continue
        values = pd.Series(source[np.where(linked, position, 0)])
        values[~linked] = None
        if pd.api.types.is_integer_dtype(parent[theirs]):
            values = values.astype("float64" if "float" in plan.dtypes[mine] else "Int64")
        frame[mine] = values.to_numpy() if values.dtype == object else values.array


def _make_keys(
    frame: pd.DataFrame, plan: TablePlan, metadata: Metadata, rng: np.random.Generator
) -> None:
    """Fresh primary-key columns; with a foreign key in the key, numbered within it."""
    key = metadata.tables[plan.name].primary_key
    fixed = [c for c in key if c not in plan.key_shapes]
    for column, shape in plan.key_shapes.items():
        if fixed and shape["type"] == "int":  # (order_id, line_no): lines 1.. per order
            group = frame.groupby(fixed, sort=False, dropna=False).cumcount().to_numpy()
            frame[column] = group + int(shape["start"])
        else:
            frame[column] = fresh_keys(shape, len(frame), rng)
