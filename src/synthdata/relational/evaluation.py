"""How faithful a set of synthetic linked tables is, measured against the real set.

`evaluate_tables` scores:

- every table on its own with the single-table fidelity of `synthdata.engine.fidelity`
  (column shapes, pair trend over all pairs on fixed bins, detection by a gradient-boosting
  classifier, alpha-precision / beta-recall; TSTR and the DCR share when a holdout is
  given), key columns left out: an identifier carries no distribution to compare;
- every foreign key (`_link_scores`): referential integrity, cardinality shape (children
  per parent row) and the pair trends between child columns and their parent's columns.

The result is a JSON-safe dict; `write_html` renders it as one self-contained HTML page.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from synthdata.engine._fidelity.canonical import canonical_frame, scored_kinds
from synthdata.engine.errors import InputError
from synthdata.engine.fidelity import score_fidelity
from synthdata.engine.report import json_safe
from synthdata.engine.schema import ColumnKind, TableSchema, infer_schema
from synthdata.relational import _link_scores as links
from synthdata.relational._tables_report import write_html

if TYPE_CHECKING:
    from synthdata.relational.metadata import ForeignKey, Metadata

__all__ = ["TABLE_MEASURES", "evaluate_tables", "write_html"]

TABLE_MEASURES = ("shapes", "trends", "detection", "support", "tstr", "dcr", "copies")
"""The single-table measures scored per table (SDMetrics' slower report is left out)."""

Tables = Mapping[str, pd.DataFrame]


def evaluate_tables(
    real: Tables | str | Path,
    synthetic: Tables | str | Path,
    metadata: Metadata | None = None,
    *,
    holdout: Tables | None = None,
    targets: Mapping[str, str] | None = None,
    max_rows: int = 10_000,
    folds: int = 5,
    seed: int = 0,
) -> dict[str, Any]:
    """Score the `synthetic` tables against the `real` ones; return a JSON-safe dict.

    `real` and `synthetic` map table names to DataFrames, or name a bundle (a folder or
    .zip of CSV/Parquet files). `metadata` defaults to `detect_metadata(real)`.
    `holdout` maps a table name to real rows kept out of training (TSTR and the DCR
    share need one); `targets` names the column TSTR predicts per table. Each table and
    each joined parent-child frame is subsampled (seeded) to at most `max_rows` rows.

    Returns ``{"tables": {name: fidelity}, "cardinality": {link: score},
    "parent_child_trends": {link: score}, "referential_integrity": {link: share},
    "real_referential_integrity", "parent_child_pair_scores", "children_per_parent",
    "summary", "notes"}``, where a link is named by `ForeignKey.label` (``child.column->parent``).
    """
    real_tables = _tables(real)
    synth_tables = _tables(synthetic)
    if metadata is None:
        from synthdata.relational import detect_metadata

        metadata = detect_metadata(real_tables)
    _check_tables(metadata, real_tables, synth_tables)
    holdout = dict(holdout or {})
    targets = dict(targets or {})
    notes: list[str] = []

    schemas = {name: _schema(metadata, name, real_tables[name]) for name in metadata.tables}
    tables = {
        name: _table_fidelity(
            real_tables[name],
            synth_tables[name],
            schemas[name],
            holdout.get(name),
            targets.get(name),
            max_rows=max_rows,
            folds=folds,
            seed=seed,
        )
        for name in metadata.tables
    }
    result: dict[str, Any] = {
        "tables": tables,
        "cardinality": {},
        "parent_child_trends": {},
        "referential_integrity": {},
        "real_referential_integrity": {},
        "parent_child_pair_scores": {},
        "children_per_parent": {},
        "notes": notes,
    }
    for foreign_key in metadata.foreign_keys:
        _score_link(result, foreign_key, real_tables, synth_tables, schemas, max_rows, seed, notes)
    result["summary"] = _summary(result, real_tables, synth_tables)
    return dict(json_safe(result))


def _tables(tables: Tables | str | Path) -> dict[str, pd.DataFrame]:
    if isinstance(tables, Mapping):
        return dict(tables)
    from synthdata.relational import read_bundle

    return read_bundle(tables)


def _check_tables(metadata: Metadata, real: dict[str, Any], synthetic: dict[str, Any]) -> None:
    """Refuse a synthetic set that lacks a table or a column of the real one."""
    metadata.validate(real)
    for name in metadata.tables:
        if name not in synthetic:
            raise InputError(f"the synthetic tables have no table {name!r}")
        missing = [c for c in real[name].columns if c not in synthetic[name].columns]
        if missing:
            raise InputError(
                f"synthetic table {name!r} lacks column(s) {', '.join(map(str, missing))}"
            )


def _key_columns(metadata: Metadata, name: str) -> set[str]:
    """The columns of table `name` that are part of its primary key or a foreign key."""
    keys = set(metadata.tables[name].primary_key)
    for foreign_key in metadata.foreign_keys:
        if foreign_key.child == name:
            keys.update(foreign_key.columns)
        if foreign_key.parent == name:
            keys.update(foreign_key.parent_columns)
    return keys


def _schema(metadata: Metadata, name: str, frame: pd.DataFrame) -> TableSchema:
    """The real table's schema, kinds from the metadata, key columns as identifiers."""
    overrides: dict[str, str | ColumnKind] = dict(metadata.tables[name].kinds)
    overrides.update(dict.fromkeys(_key_columns(metadata, name), ColumnKind.IDENTIFIER))
    return infer_schema(frame, overrides)


def _table_fidelity(
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    schema: TableSchema,
    holdout: pd.DataFrame | None,
    target: str | None,
    *,
    max_rows: int,
    folds: int,
    seed: int,
) -> dict[str, Any]:
    """The single-table fidelity dict of one table; measures that cannot run are noted."""
    measures = list(TABLE_MEASURES)
    notes = []
    if not scored_kinds(schema):
        return {"notes": ["nothing to score: every column is a key, a constant or empty"]}
    if len(synthetic) == 0:
        return {"notes": ["the synthetic table has no rows"]}
    if min(len(real), len(synthetic)) < 2 * folds:
        measures.remove("detection")
        notes.append(f"detection: fewer than {2 * folds} rows on one side")
    scores = score_fidelity(
        real,
        synthetic,
        schema,
        holdout=holdout,
        target=target,
        measures=measures,
        max_rows=max_rows,
        folds=folds,
        seed=seed,
    )
    scores.notes.extend(notes)
    return scores.to_dict()


def _score_link(
    result: dict[str, Any],
    foreign_key: ForeignKey,
    real: dict[str, pd.DataFrame],
    synthetic: dict[str, pd.DataFrame],
    schemas: dict[str, TableSchema],
    max_rows: int,
    seed: int,
    notes: list[str],
) -> None:
    """Integrity, cardinality shape and parent-child trends of one foreign key."""
    name = foreign_key.label
    keys = {}
    for role, tables in (("real", real), ("synthetic", synthetic)):
        child_keys = links.key_text(tables[foreign_key.child], foreign_key.columns)
        parent_keys = links.key_text(tables[foreign_key.parent], foreign_key.parent_columns)
        keys[role] = (child_keys, parent_keys)
    result["referential_integrity"][name] = links.referential_integrity(*keys["synthetic"])
    result["real_referential_integrity"][name] = links.referential_integrity(*keys["real"])
    counts = {role: links.children_per_parent(*pair) for role, pair in keys.items()}
    result["cardinality"][name] = links.cardinality_shape(counts["real"], counts["synthetic"])
    result["children_per_parent"][name] = {role: _describe(c) for role, c in counts.items()}

    child_kinds = _prefixed(scored_kinds(schemas[foreign_key.child]), foreign_key.child)
    parent_kinds = _prefixed(scored_kinds(schemas[foreign_key.parent]), foreign_key.parent)
    if foreign_key.child == foreign_key.parent or not child_kinds or not parent_kinds:
        notes.append(f"{name}: no child and parent columns to pair")
        return
    joined = {}
    for role, tables in (("real", real), ("synthetic", synthetic)):
        problems: list[str] = []
        child = _canonical(tables[foreign_key.child], schemas[foreign_key.child], problems, role)
        parent = _canonical(tables[foreign_key.parent], schemas[foreign_key.parent], problems, role)
        child_frame = child.add_prefix(f"{foreign_key.child}.")
        parent_frame = parent.add_prefix(f"{foreign_key.parent}.")
        child_keys, parent_keys = keys[role]
        joined[role] = links.parent_child_frame(child_frame, child_keys, parent_frame, parent_keys)
    pairs = links.parent_child_trends(
        joined["real"], joined["synthetic"], child_kinds, parent_kinds, max_rows=max_rows, seed=seed
    )
    result["parent_child_pair_scores"][name] = pairs
    result["parent_child_trends"][name] = _mean(pairs.values())


def _canonical(
    frame: pd.DataFrame, schema: TableSchema, problems: list[str], role: str
) -> pd.DataFrame:
    names = list(scored_kinds(schema))
    return canonical_frame(frame[names], schema, problems, role)


def _prefixed(kinds: dict[str, ColumnKind], table: str) -> dict[str, ColumnKind]:
    return {f"{table}.{name}": kind for name, kind in kinds.items()}


def _describe(counts: np.ndarray) -> dict[str, float | int | None]:
    """Parents, their mean and largest number of children, and the share with none."""
    if counts.size == 0:
        return {"parents": 0, "mean": None, "max": None, "zero_share": None}
    return {
        "parents": int(counts.size),
        "mean": float(counts.mean()),
        "max": int(counts.max()),
        "zero_share": float((counts == 0).mean()),
    }


def _summary(
    result: dict[str, Any], real: dict[str, pd.DataFrame], synthetic: dict[str, pd.DataFrame]
) -> dict[str, Any]:
    """Means over tables and links; integrity and cardinality also at their worst."""
    tables = result["tables"].values()
    return {
        "tables": len(result["tables"]),
        "foreign_keys": len(result["cardinality"]),
        "column_shapes": _mean(t.get("column_shapes") for t in tables),
        "pair_trend": _mean(t.get("pair_trend") for t in tables),
        "detection": _mean(t.get("detection") for t in tables),
        "cardinality": _mean(result["cardinality"].values()),
        "cardinality_min": _min(result["cardinality"].values()),
        "parent_child_trend": _mean(result["parent_child_trends"].values()),
        "referential_integrity": _min(result["referential_integrity"].values()),
        "rows": {
            name: {"real": len(real[name]), "synthetic": len(synthetic[name])}
            for name in result["tables"]
        },
    }


def _mean(values: Iterable[Any]) -> float | None:
    present = [v for v in values if v is not None]
    return float(np.mean(present)) if present else None


def _min(values: Iterable[Any]) -> float | None:
    present = [v for v in values if v is not None]
    return float(min(present)) if present else None
