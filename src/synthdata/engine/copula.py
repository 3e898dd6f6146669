"""The default synthesizer: a Gaussian copula with exact marginals and hierarchies.

Every modelled column is mapped to standard-normal scores (see `marginals`), and
one correlation matrix ties them together. Three things make it better than a
textbook copula:
- missingness is a latent dimension of its own, so nulls keep their rate and their
  links to other columns;
- categories are ordered along the direction in which they differ most across the
  numeric columns, so a single correlation captures most categorical-numeric trends;
- functional dependencies between categorical columns (a city lies in exactly one
  region) are detected and rebuilt by lookup, where any copula would blur them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from synthdata.engine.base import CHUNK_ROWS, Synthesizer, is_modelled, register
from synthdata.engine.columns import Encoded, decode, encode
from synthdata.engine.hierarchy import Derivation, find_derivations
from synthdata.engine.keys import constant_column, identifier_column
from synthdata.engine.marginals import LevelMarginal, QuantileMarginal
from synthdata.engine.schema import ColumnKind, TableSchema


@dataclass
class _Column:
    """What the copula keeps about one modelled column."""

    name: str
    marginal: QuantileMarginal | LevelMarginal
    levels: list[Any] | None
    value_dim: int
    null_dim: int | None = None
    null_marginal: LevelMarginal | None = None


@dataclass
class _Model:
    columns: list[_Column] = field(default_factory=list)
    derived: list[Derivation] = field(default_factory=list)
    chol: np.ndarray = field(default_factory=lambda: np.eye(0))


@register
class GaussianCopulaSynthesizer(Synthesizer):
    """Gaussian copula over exact empirical marginals (the default, "copula")."""

    name = "copula"

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._model = _Model()

    # -- fitting --------------------------------------------------------------------------
    def _fit(self, data: pd.DataFrame, schema: TableSchema) -> None:
        rng = np.random.default_rng(int(self.options.get("fit_seed", 0)))
        encoded = {
            spec.name: encode(data[spec.name], spec)
            for spec in schema.columns
            if is_modelled(spec.kind)
        }
        n = len(data)
        numeric_scores = _numeric_scores(encoded, schema, n, rng)
        for name, enc in encoded.items():
            if schema[name].kind == ColumnKind.CATEGORICAL:
                _order_levels(enc, numeric_scores, n)
        derived = find_derivations(encoded, n)
        sources = [name for name in encoded if name not in {d.target for d in derived}]
        columns: list[_Column] = []
        latent: list[np.ndarray] = []
        for name in sources:
            column, scores = _fit_column(name, encoded[name], n, len(latent), rng)
            columns.append(column)
            latent.extend(scores)
        self._model = _Model(columns, derived, _cholesky(latent))

    # -- sampling -------------------------------------------------------------------------
    def _sample_chunk(self, num_rows: int, rng: np.random.Generator, block: int) -> pd.DataFrame:
        schema = self._require_fitted()
        model = self._model
        aux_rng = rng.spawn(1)[0]  # independent of how many normals are drawn below
        dims = model.chol.shape[0]
        latent = rng.standard_normal((num_rows, dims)) @ model.chol.T if dims else None
        aux = aux_rng.random((num_rows, len(schema.columns)))
        codes: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for column in model.columns:
            assert latent is not None
            values = column.marginal.from_normal(latent[:, column.value_dim])
            present = np.ones(num_rows, dtype=bool)
            if column.null_dim is not None and column.null_marginal is not None:
                present = column.null_marginal.from_normal(latent[:, column.null_dim]) == 0
            codes[column.name] = (values, present)
        position_of = {spec.name: i for i, spec in enumerate(schema.columns)}
        pending = list(model.derived)
        while pending:  # sources before targets; the graph is acyclic (finer -> coarser)
            ready = [d for d in pending if d.source in codes]
            for derivation in ready:
                values, present = codes[derivation.source]
                uniform = aux[:, position_of[derivation.target]]
                codes[derivation.target] = derivation.apply(values, present, uniform)
                pending.remove(derivation)
        out: dict[str, pd.Series] = {}
        levels = {c.name: c.levels for c in model.columns}
        levels.update({d.target: d.levels for d in model.derived})
        start = block * CHUNK_ROWS
        for position, spec in enumerate(schema.columns):
            if spec.name in codes:
                values, present = codes[spec.name]
                out[spec.name] = decode(values, present, spec, levels[spec.name])
            elif spec.kind == ColumnKind.IDENTIFIER:
                out[spec.name] = identifier_column(spec, start, num_rows, aux_rng)
            else:
                out[spec.name] = constant_column(spec, num_rows, aux[:, position])
        return pd.DataFrame(out)

    # -- saving ---------------------------------------------------------------------------
    def to_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        model = self._model
        arrays: dict[str, np.ndarray] = {"chol": model.chol}
        columns = []
        for i, column in enumerate(model.columns):
            arrays[f"marginal_{i}"] = _marginal_array(column.marginal)
            if column.null_marginal is not None:
                arrays[f"null_{i}"] = column.null_marginal.cumulative
            columns.append({
                "name": column.name,
                "marginal": column.marginal.kind,
                "levels": column.levels,
                "value_dim": column.value_dim,
                "null_dim": column.null_dim,
            })
        derived = []
        for i, derivation in enumerate(model.derived):
            params, mapping, fallback = derivation.to_state()
            arrays[f"derived_map_{i}"] = mapping
            arrays[f"derived_fallback_{i}"] = fallback
            derived.append(params)
        return {"columns": columns, "derived": derived}, arrays

    def load_state(self, params: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        columns = []
        for i, item in enumerate(params["columns"]):
            marginal: QuantileMarginal | LevelMarginal
            if item["marginal"] == "quantile":
                marginal = QuantileMarginal(arrays[f"marginal_{i}"])
            else:
                marginal = LevelMarginal(arrays[f"marginal_{i}"])
            null = arrays.get(f"null_{i}")
            columns.append(_Column(
                name=item["name"],
                marginal=marginal,
                levels=item["levels"],
                value_dim=item["value_dim"],
                null_dim=item["null_dim"],
                null_marginal=LevelMarginal(null) if null is not None else None,
            ))
        derived = [
            Derivation.from_state(item, arrays[f"derived_map_{i}"],
                                  arrays[f"derived_fallback_{i}"])
            for i, item in enumerate(params["derived"])
        ]
        self._model = _Model(columns, derived, arrays["chol"])


def _numeric_scores(
    encoded: dict[str, Encoded], schema: TableSchema, n: int, rng: np.random.Generator
) -> np.ndarray:
    """Normal scores of the ordered (non-categorical) columns, 0 where null."""
    scores = []
    for name, enc in encoded.items():
        if schema[name].kind == ColumnKind.CATEGORICAL or not len(enc.values):
            continue
        full = np.zeros(n)
        if enc.levels is None:
            full[enc.present] = QuantileMarginal.fit(enc.values).to_normal(enc.values, rng)
        else:
            marginal = LevelMarginal.fit(enc.values, len(enc.levels))
            full[enc.present] = marginal.to_normal(enc.values, rng)
        scores.append(full)
    return np.column_stack(scores) if scores else np.empty((n, 0))


def _marginal_array(marginal: QuantileMarginal | LevelMarginal) -> np.ndarray:
    return marginal.grid if isinstance(marginal, QuantileMarginal) else marginal.cumulative


def _fit_column(
    name: str, enc: Encoded, n: int, first_dim: int, rng: np.random.Generator
) -> tuple[_Column, list[np.ndarray]]:
    """Fit one column's marginal(s); return it with its latent score column(s)."""
    scores: list[np.ndarray] = []
    value_scores = np.full(n, np.nan)
    marginal: QuantileMarginal | LevelMarginal
    if enc.levels is None:
        marginal = QuantileMarginal.fit(enc.values)
    else:
        marginal = LevelMarginal.fit(enc.values, len(enc.levels))
    if len(enc.values):
        value_scores[enc.present] = marginal.to_normal(enc.values, rng)
    scores.append(value_scores)
    column = _Column(name, marginal, enc.levels, first_dim)
    missing = ~enc.present
    if missing.any() and enc.present.any():
        flags = missing.astype(np.int64)
        column.null_marginal = LevelMarginal.fit(flags, 2)
        column.null_dim = first_dim + 1
        scores.append(column.null_marginal.to_normal(flags, rng))
    return column, scores


def _order_levels(enc: Encoded, numeric_scores: np.ndarray, n: int) -> None:
    """Reorder categories along the first principal direction of their numeric means.

    The copula links a category to numbers only through its position in [0, 1), so
    putting categories with similar numeric profiles next to each other lets one
    correlation coefficient carry most of the categorical-numeric trend.
    """
    if enc.levels is None or len(enc.levels) < 3 or numeric_scores.shape[1] == 0:
        return
    k = len(enc.levels)
    rows = numeric_scores[enc.present]
    counts = np.bincount(enc.values, minlength=k).astype(np.float64)
    means = np.column_stack([
        np.bincount(enc.values, weights=rows[:, j], minlength=k) for j in range(rows.shape[1])
    ]) / np.maximum(counts, 1)[:, None]
    weights = np.sqrt(counts / counts.sum())[:, None]
    _, _, vt = np.linalg.svd(means * weights, full_matrices=False)
    order = np.argsort(means @ vt[0], kind="stable")
    remap = np.empty(k, dtype=np.int64)
    remap[order] = np.arange(k)
    enc.values = remap[enc.values]
    enc.levels = [enc.levels[i] for i in order]


def _cholesky(latent: list[np.ndarray]) -> np.ndarray:
    """Correlation of the latent scores (pairwise-complete), made positive definite."""
    if not latent:
        return np.eye(0)
    scores = np.column_stack(latent).astype(np.float32)
    present = ~np.isnan(scores)
    scores = np.nan_to_num(scores, nan=0.0)
    pairs = present.T.astype(np.float32) @ present.astype(np.float32)
    corr = (scores.T @ scores).astype(np.float64) / np.maximum(pairs, 1.0)
    scale = np.sqrt(np.clip(np.diag(corr), 1e-12, None))
    corr = corr / np.outer(scale, scale)
    eigenvalues, vectors = np.linalg.eigh((corr + corr.T) / 2)
    fixed = vectors @ np.diag(np.clip(eigenvalues, 1e-6, None)) @ vectors.T
    scale = np.sqrt(np.diag(fixed))
    return np.linalg.cholesky(fixed / np.outer(scale, scale))
