"""Fitting one table of a dataset: its own columns, the number of children of each
row, and (for a child) the attributes of its parent row in front of its own.

Each table is one `chain` model. A parent's model gets one extra integer column per
foreign key that references it: how many child rows each of its rows has (zero
included), so the count is learnt jointly with the parent's attributes. A child's
model starts with a few of its primary parent's columns (that count first), then
a few of each other parent's, joined onto every child row and put first in the
chain, so that sampling children given their parent rows is a plain draw of the
columns after them.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from synthdata.engine.base import is_modelled
from synthdata.engine.chain import ChainSynthesizer
from synthdata.engine.kinds import ColumnKind
from synthdata.engine.pii.columns import is_replaced
from synthdata.relational._keys import key_shape, parent_rows
from synthdata.relational.metadata import ForeignKey, Metadata

SMALL_TABLE_ROWS = 1_000  # below it, a table's trees get finer leaves
REFERENCE_ROWS = 100  # below it, a table is reference data (its rows come back)
GIVEN_COLUMNS = 6  # primary parent columns a child is learnt given (with the count first)
NAMING_SHARE = 0.5  # parent columns with more distinct values per row are not given
BINS_PER_GROUP = 32  # ... unless they have no more values than a number has bins
MATCHED_COLUMNS = 2  # columns of each other parent a child row is matched to one by
COUNT_GRID = 1_001  # points of the real children-per-parent distribution kept
_COUNT = "#children "  # prefix of the count columns (no real column starts with it)


def count_column(fk: ForeignKey) -> str:
    """The parent model's column counting each parent row's children through `fk`."""
    return f"{_COUNT}{fk.label}"


def count_grid(counts: np.ndarray) -> list[int]:
    """The real numbers of children per parent row, sorted: every one for up to
    `COUNT_GRID` parent rows, else that many evenly spaced quantiles."""
    ordered = np.sort(counts)
    if len(ordered) > COUNT_GRID:
        ordered = ordered[np.linspace(0, len(ordered) - 1, COUNT_GRID).round().astype(int)]
    return [int(v) for v in ordered]


def link_column(fk: ForeignKey, column: str) -> str:
    """A parent's column as the child's model sees it (unique per link, so an airport's
    columns come in twice for a flight's origin and destination)."""
    return f"{fk.label}.{column}"


@dataclass
class TablePlan:
    """How one table is rebuilt: saved next to its model as plain JSON."""

    name: str
    rows: int
    columns: list[str]  # the real table's columns, in order
    dtypes: dict[str, str]  # key columns: the real dtype (keys are made, not modelled)
    key_shapes: dict[str, dict[str, Any]] = field(default_factory=dict)
    primary: str = ""  # label of the foreign key children are drawn under
    per_parent: float = 0.0  # real rows with a primary parent, per real primary parent row
    given: list[str] = field(default_factory=list)  # primary parent's columns, as named there
    matched: dict[str, list[str]] = field(default_factory=dict)  # other links' parent columns
    counts: dict[str, list[int]] = field(default_factory=dict)  # link -> real children per row
    unlinked: dict[str, float] = field(default_factory=dict)  # fk label -> share null/orphan
    lead: list[Any] = field(default_factory=list)  # reference table: [column, sorted values]

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TablePlan:
        return cls(**data)


def fit_table(
    name: str,
    tables: dict[str, pd.DataFrame],
    metadata: Metadata,
    fitted: dict[str, tuple[pd.DataFrame, ChainSynthesizer | None]],
    seed: int,
) -> tuple[TablePlan, pd.DataFrame, ChainSynthesizer | None]:
    """Fit table `name` (its parents are in `fitted`); returns its plan, the frame its
    model learnt (its children read their parent columns from it) and the model."""
    frame = tables[name]
    meta = metadata.tables[name]
    parents = primary_first(metadata.parents_of(name), tables)
    keys = set(meta.primary_key) | {c for fk in parents for c in fk.columns}
    plan = TablePlan(
        name,
        len(frame),
        [str(c) for c in frame.columns],
        {c: str(frame[c].dtype) for c in keys},
        {c: key_shape(frame[c]) for c in meta.primary_key if not _in_fk(c, parents)},
    )
    data = frame[[c for c in frame.columns if c not in keys]].reset_index(drop=True)
    extra = {}
    for fk in metadata.children_of(name):
        child = tables[fk.child]
        position = parent_rows(child[list(fk.columns)], frame[list(fk.parent_columns)])
        extra[count_column(fk)] = np.bincount(position[position >= 0], minlength=len(frame))
        plan.counts[fk.label] = count_grid(extra[count_column(fk)])
    if extra:
        data = data.assign(**extra)
    overrides = {c: k for c, k in meta.kinds.items() if c in data.columns}
    for c in extra:
        overrides[c] = "integer"
    positions = {}  # each link's parent row of each row (-1: none)
    for fk in parents:
        parent = tables[fk.parent][list(fk.parent_columns)]
        positions[fk.label] = parent_rows(frame[list(fk.columns)], parent)
        unlinked = positions[fk.label] < 0
        plan.unlinked[fk.label] = float(unlinked.mean()) if len(frame) else 0.0
    own = data  # what this table's children read their parent columns from
    first: list[str] = []
    if parents:
        primary = parents[0]
        plan.primary = primary.label
        linked = 1.0 - plan.unlinked[plan.primary]
        plan.per_parent = len(frame) * linked / max(len(tables[primary.parent]), 1)
        plan.given = [
            *_family_size(primary, fitted),
            *_parent_columns(primary, fitted, GIVEN_COLUMNS - 1),
        ]
        first = [link_column(primary, c) for c in plan.given]
        parts = [_context(primary, plan.given, positions, fitted, overrides), data]
        for fk in parents[1:]:  # after the primary's, also first: see _sampling
            plan.matched[fk.label] = _parent_columns(fk, fitted, MATCHED_COLUMNS)
            first += [link_column(fk, c) for c in plan.matched[fk.label]]
            parts.append(_context(fk, plan.matched[fk.label], positions, fitted, overrides))
        data = pd.concat(parts, axis=1)
        orphans = positions[primary.label] < 0
        if orphans.any():  # left out: sampling draws them under a random parent row
            data = data[~orphans].reset_index(drop=True)
    if data.shape[1] == 0 or len(data) == 0:
        return plan, own, None
    if not parents and len(data) < REFERENCE_ROWS:
        plan.lead = _lead(data)
        first = plan.lead[:1]
    model = ChainSynthesizer(
        fit_seed=seed, first=first, **_small_table_options(len(data), bool(parents))
    )
    with warnings.catch_warnings():  # scikit-learn's note on many classes (counts, ids)
        warnings.filterwarnings("ignore", "The number of unique classes", UserWarning)
        # Reference data comes back as it is (see `_small_table_options`): a genus held by
        # one species row names no person, so its rare values are not pooled.
        reference = 1 if len(data) < REFERENCE_ROWS else None
        model.fit(data, overrides=overrides, min_value_count=reference)
    if plan.lead and model.schema is not None and not is_modelled(model.schema[plan.lead[0]].kind):
        plan.lead = []  # an identifier (five promotions, five kinds) is made, not drawn
    if plan.lead and model.schema is not None and is_replaced(model.schema[plan.lead[0]]):
        plan.lead = []  # real personal data is not kept in the plan (see engine.pii)
    return plan, own, model


def _lead(data: pd.DataFrame) -> list[Any]:
    """A reference table's column with the fewest values, and its values sorted: the
    synthetic table takes them in the real shares (see `_sampling`), then the other
    columns are drawn given them."""
    candidates = [
        c
        for c in data.columns
        if data[c].notna().all()
        and not pd.api.types.is_datetime64_any_dtype(data[c])
        and not str(c).startswith(_COUNT)
    ]
    if not candidates:
        return []
    column = min(candidates, key=lambda c: (data[c].nunique(), list(data.columns).index(c)))
    values = data[column].sort_values(kind="stable").tolist()
    return [column, [v.item() if isinstance(v, np.generic) else v for v in values]]


def _small_table_options(rows: int, child: bool) -> dict[str, Any]:
    """Finer trees for small tables without a parent (lookup tables: species, plots).

    The engine's default leaves (30 real rows, smoothed by 10 more) cannot split a
    54-row table at all, so each column would be drawn on its own: a species' genus
    apart from its name, and its number of surveys apart from both; its children then
    follow rows that never existed. A parent's rows must stay coherent for its
    children to follow them. Under `REFERENCE_ROWS` rows a table (a child too) is
    treated as reference data: one-row leaves, unsmoothed, so its rows come back as
    they are (the engine's SmallTableWarning says so); a table without a parent of up
    to `SMALL_TABLE_ROWS` rows gets two-row leaves.
    """
    if rows < REFERENCE_ROWS:
        return {"min_leaf_rows": 1, "smoothing": 0.0}
    if rows >= SMALL_TABLE_ROWS or child:
        return {}
    return {"min_leaf_rows": 2, "smoothing": 1.0}


def primary_first(parents: list[ForeignKey], tables: dict[str, pd.DataFrame]) -> list[ForeignKey]:
    """A child's foreign keys, the one to the parent with the most rows first.

    Children are drawn under that parent's rows: the largest parent is the one a row
    belongs to (an order line to its order, not to its product), with the fewest
    children per row, so its counts and columns say the most about each child.
    """
    return sorted(parents, key=lambda fk: -len(tables[fk.parent]))


def _in_fk(column: str, parents: list[ForeignKey]) -> bool:
    return any(column in fk.columns for fk in parents)


def _names_rows(values: pd.Series) -> bool:
    """Whether a parent column has a value per row or nearly (a species' name, or its
    exact number of surveys): it names the row rather than a group of rows, and
    children learnt on it would follow whichever real row a synthetic parent's value
    came from, not the parent's other columns."""
    return values.nunique() > max(BINS_PER_GROUP, len(values) * NAMING_SHARE)


def _family_size(
    fk: ForeignKey, fitted: dict[str, tuple[pd.DataFrame, ChainSynthesizer | None]]
) -> list[str]:
    """The count column, when it groups the parent rows (many customers with 3 orders),
    not when it names them (54 species, most with a number of surveys of their own)."""
    own = fitted[fk.parent][0]
    return [] if _names_rows(own[count_column(fk)]) else [count_column(fk)]


def _parent_columns(
    fk: ForeignKey, fitted: dict[str, tuple[pd.DataFrame, ChainSynthesizer | None]], limit: int
) -> list[str]:
    """Up to `limit` of the parent's own modelled columns, those with fewest values first
    (categories before numbers: what a child's columns most often differ by)."""
    own, model = fitted[fk.parent]
    if model is None or model.schema is None:
        return []
    specs = [
        spec
        for spec in model.schema.columns
        if spec.name in own.columns and not spec.name.startswith(_COUNT) and is_modelled(spec.kind)
    ]
    names = [spec.name for spec in specs]
    distinct = {c: own[c].nunique() for c in names}
    levels = {spec.name for spec in specs if spec.kind == ColumnKind.CATEGORICAL}
    names = [c for c in names if c not in levels or not _names_rows(own[c])]
    names.sort(key=lambda c: distinct[c])
    return names[:limit]


def _context(
    fk: ForeignKey,
    columns: list[str],
    positions: dict[str, np.ndarray],
    fitted: dict[str, tuple[pd.DataFrame, ChainSynthesizer | None]],
    overrides: dict[str, str],
) -> pd.DataFrame:
    """The parent row's `columns` beside each child row (empty where it has none); their
    kinds, as the parent's model has them, go into `overrides`."""
    own, model = fitted[fk.parent]
    position = positions[fk.label]
    picked = own[columns].iloc[np.maximum(position, 0)].reset_index(drop=True)
    if (position < 0).any():
        picked = picked.mask(np.repeat((position < 0)[:, None], len(columns), axis=1))
    picked.columns = pd.Index([link_column(fk, c) for c in columns])
    for column in columns:
        kind = "integer" if column.startswith(_COUNT) else None
        if kind is None and model is not None and model.schema is not None:
            kind = model.schema[column].kind.value
        if kind is not None:
            overrides[link_column(fk, column)] = kind
    return picked
